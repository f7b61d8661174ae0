module github.com/exfilscore/exfilscore/benchmarks

go 1.26.0

require (
	github.com/exfilscore/exfilscore v0.0.0
	github.com/netsampler/goflow2/v2 v2.2.6
)

require (
	github.com/libp2p/go-reuseport v0.4.0 // indirect
	github.com/oschwald/maxminddb-golang/v2 v2.9.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

replace github.com/exfilscore/exfilscore => ../
