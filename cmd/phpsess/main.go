// Command phpsess inspects, edits, migrates, converts and benchmarks PHP
// sessions stored in Redis by phpredis.
//
//	get ID [KEY]            show a session with PHP types, or as lossless JSON
//	set ID KEY VALUE        set a variable (atomic w.r.t. the session lock)
//	del ID [KEY]            delete a session or a variable (atomic w.r.t. the lock)
//	ls                      list sessions: size, TTL, lock holder (SCAN)
//	locks                   list held locks; find stale ones
//	unlock ID --force       break a stale lock
//	watch ID                one line per change, live (client tracking)
//	migrate --from --to     rewrite every session to another serializer
//	stats --from ADDR       coordinator metrics of a running phpsess
//	decode, encode, convert session bytes <-> lossless JSON, offline
//	bench                   the coordinator against per-request locking
//
// Exit status: 0 on success, 1 on any error (bad input, Redis error, a
// failed check), 2 on a usage error (unknown command or flag, wrong
// arguments). See docs/cli.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// usageError marks errors that should exit with status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

const rootLong = `phpsess looks into and edits the PHP sessions that phpredis keeps in Redis
(session.save_handler=redis), safely beside a live PHP application: a write
never happens while PHP holds the session's lock (one atomic check-and-write
that refuses while the lock is held or the data changed, or the phpredis lock
itself), and what it does not change is written back byte for byte.

Connection (global flags, for every command that talks to Redis):
  --redis URL        redis://[user:pass@]host:port[/db], rediss:// (TLS),
                     redis-sentinel://host:port[,host:port]/master-name, or a
                     cluster seed (redis://host:port?addr=host2:port2; a
                     cluster is detected automatically). Default $REDIS_URL,
                     else redis://127.0.0.1:6379.
  --prefix P         session key prefix (phpredis save_path prefix), default
                     PHPREDIS_SESSION:
  --save-path S      PHP's session.save_path (tcp://host:port?prefix=..&
                     database=..&auth=.., tls://, unix:): the Redis URL and
                     prefix as phpredis reads them; not with --redis/--prefix
  --lock-suffix S    lock key suffix, default _LOCK
  --handler H        session.serialize_handler: php, php_serialize, php_binary
  --json             machine-readable output (one JSON document, or one JSON
                     object per line for streaming commands)
  --no-tracking      for servers without CLIENT TRACKING (Redis < 6, proxies)

Exit status:
  0  success
  1  error (Redis unreachable, session not found, decode failure, refused
     or failed operation)
  2  usage error (unknown command or flag, wrong number of arguments)

Shell completion: phpsess completion bash|zsh|fish|powershell --help.`

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "phpsess",
		Short:         "Inspect, edit, migrate, convert and benchmark PHP sessions stored in Redis by phpredis",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	addGlobalFlags(root)
	for _, add := range commands {
		root.AddCommand(add())
	}
	return root
}

// commands holds the constructors of the subcommands; each subcommand's
// file registers itself from init.
var commands []func() *cobra.Command

func register(f func() *cobra.Command) { commands = append(commands, f) }

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	// Errors that happen before a command's RunE starts (unknown command,
	// bad flags, wrong argument count) are usage errors.
	runStarted = false
	markStarted(root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C asks the command to wind down (migrate saves its
	// checkpoint, watch ends); a second one kills the process as usual.
	go func() { <-ctx.Done(); stop() }()
	defer closeOwnedClients()
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && runStarted {
		err = notRedis(g.url(), err) // a server that answered, but not as Redis
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) || !runStarted {
			name := "phpsess"
			if cmd != nil {
				name = cmd.CommandPath()
			}
			// one line, with the way to the help
			fmt.Fprintf(os.Stderr, "phpsess: %v (see '%s --help')\n", err, name)
			return 2
		}
		fmt.Fprintln(os.Stderr, "phpsess:", err)
		return 1
	}
	return 0
}

// markStarted wraps the RunE of every command so that run can tell usage
// errors (returned before RunE) from runtime errors.
func markStarted(c *cobra.Command) {
	if f := c.RunE; f != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			runStarted = true
			return f(cmd, args)
		}
	} else if f := c.Run; f != nil {
		c.Run = func(cmd *cobra.Command, args []string) {
			runStarted = true
			f(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		markStarted(sub)
	}
}

// runStarted is set once argument validation is over and a command (or
// the root's persistent pre-run) has started to work.
var runStarted bool

// exactArgs is cobra.ExactArgs with a message naming the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return rangeArgs(len(names), len(names), names...)
}

// rangeArgs accepts min..max positional arguments, named for the message.
func rangeArgs(min, max int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min {
			return usageError{fmt.Errorf("%s: missing %s", cmd.Name(), strings.Join(names[len(args):min], " and "))}
		}
		if len(args) > max {
			return usageError{fmt.Errorf("%s: too many arguments (want %s)", cmd.Name(), strings.Join(names, " "))}
		}
		return nil
	}
}
