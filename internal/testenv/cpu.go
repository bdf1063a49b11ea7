package testenv

import (
	"strconv"
	"strings"
)

// MainThreadCPU sums used_cpu_user_main_thread and used_cpu_sys_main_thread
// (seconds) of an INFO cpu reply: the CPU Redis's command thread spent
// reading, running and answering commands, for benchmarks that compare
// what two ways of writing cost Redis.
func MainThreadCPU(info string) float64 {
	var tot float64
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		for _, key := range []string{"used_cpu_user_main_thread:", "used_cpu_sys_main_thread:"} {
			if v, ok := strings.CutPrefix(l, key); ok {
				f, _ := strconv.ParseFloat(v, 64)
				tot += f
			}
		}
	}
	return tot
}
