module github.com/exfilscore/exfilscore

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/netsampler/goflow2/v2 v2.2.6
)
