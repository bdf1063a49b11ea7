module github.com/phpsession/phpsession/bench/codecpeers

go 1.26.0

require (
	github.com/phpsession/phpsession v0.0.0
	github.com/stlong5/phpserialize v1.0.1
	github.com/trim21/go-phpserialize v0.1.4
	github.com/yvasiyarov/php_session_decoder v0.0.0-20180803065642-a065a3b0b7d1
)

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	go4.org/unsafe/assume-no-moving-gc v0.0.0-20231121144256-b99613f794b6 // indirect
)

replace github.com/phpsession/phpsession => ../..
