package phpsession_test

import (
	"context"
	"log"

	"github.com/phpsession/phpsession"
)

// Open a Manager on the Redis, database and key prefix a PHP application's
// session.save_path names, with the same string: phpredis's auth (a
// password, or an ACL user and password), database and prefix are read as
// phpredis reads them.
func ExampleOpenSavePath() {
	savePath := "tcp://127.0.0.1:6379?auth[]=phpsess&auth[]=PASSWORD&database=2&prefix=app1:"
	m, err := phpsession.OpenSavePath(savePath, phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
}
