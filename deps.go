//go:build tools

package phpsession

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/asynkron/protoactor-go/actor"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/redis/rueidis"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
)
