package flowsrc

// PathSets returns how many NetFlow v9/IPFIX data sets d decoded on the
// fast path and through goflow2, so that the differential tests can check
// that both paths were really taken.
func PathSets(d *DatagramDecoder) (fast, goflow2 uint64) {
	return d.stats.fastSets.Load(), d.stats.goflowSets.Load()
}
