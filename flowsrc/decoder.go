package flowsrc

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Default state limits of a DatagramDecoder.
const (
	DefaultMaxExporters      = 4096
	DefaultMaxTemplates      = 1024
	DefaultMaxSamplers       = 1024
	DefaultMaxTemplateFields = 512
)

// DecoderOption configures a DatagramDecoder.
type DecoderOption interface {
	apply(*decoderConfig)
}

type decoderConfig struct {
	maxExporters      int
	maxTemplates      int
	maxSamplers       int
	maxTemplateFields int
	path              DecodePath
}

type optionFunc func(*decoderConfig)

func (f optionFunc) apply(c *decoderConfig) { f(c) }

// WithMaxExporters bounds the number of NetFlow v9/IPFIX exporters whose
// templates and sampling state are kept (default DefaultMaxExporters).
// Datagrams of further exporters are skipped with ErrLimit. NetFlow v5 and
// sFlow keep no state and are not limited. n <= 0 keeps the default.
func WithMaxExporters(n int) DecoderOption {
	return optionFunc(func(c *decoderConfig) {
		if n > 0 {
			c.maxExporters = n
		}
	})
}

// WithMaxTemplates bounds the templates (data and options) kept per
// exporter, all observation domains together (default
// DefaultMaxTemplates). New template IDs beyond it are refused with
// ErrLimit; known IDs can still be redefined. n <= 0 keeps the default.
func WithMaxTemplates(n int) DecoderOption {
	return optionFunc(func(c *decoderConfig) {
		if n > 0 {
			c.maxTemplates = n
		}
	})
}

// WithMaxSamplers bounds the sampler entries (sampling rates announced in
// options data) kept per exporter (default DefaultMaxSamplers). n <= 0
// keeps the default.
func WithMaxSamplers(n int) DecoderOption {
	return optionFunc(func(c *decoderConfig) {
		if n > 0 {
			c.maxSamplers = n
		}
	})
}

// WithMaxTemplateFields bounds the number of fields of one template
// (default DefaultMaxTemplateFields); longer templates are refused with
// ErrLimit. n <= 0 keeps the default.
func WithMaxTemplateFields(n int) DecoderOption {
	return optionFunc(func(c *decoderConfig) {
		if n > 0 {
			c.maxTemplateFields = n
		}
	})
}

// DatagramDecoder decodes NetFlow v5, NetFlow v9, IPFIX and sFlow v5 export
// datagrams into Records, using goflow2's protocol decoders and this
// package's own mapping. Template and sampling state is kept per
// (exporter, observation domain / source ID).
//
// A DatagramDecoder is safe for concurrent use by multiple goroutines;
// datagrams of one exporter must be given in arrival order (template and
// options state is sequential). Use NewDatagramDecoder; the zero value is
// not usable. It must not be copied after first use.
type DatagramDecoder struct {
	_ [0]sync.Mutex // not copyable (go vet copylocks)

	cfg   decoderConfig
	stats counters

	// exporters is a read-only snapshot, replaced (copy on write, under
	// mu) when an exporter is added: finding an exporter's state takes no
	// lock and writes no shared memory.
	mu        sync.Mutex
	exporters atomic.Pointer[map[netip.Addr]*exporterState]

	pool sync.Pool // *decodeCtx
}

// NewDatagramDecoder returns a decoder with the given options applied.
func NewDatagramDecoder(opts ...DecoderOption) *DatagramDecoder {
	d := &DatagramDecoder{
		cfg: decoderConfig{
			maxExporters:      DefaultMaxExporters,
			maxTemplates:      DefaultMaxTemplates,
			maxSamplers:       DefaultMaxSamplers,
			maxTemplateFields: DefaultMaxTemplateFields,
		},
	}
	d.exporters.Store(&map[netip.Addr]*exporterState{})
	for _, o := range opts {
		o.apply(&d.cfg)
	}
	d.pool.New = func() any { return new(decodeCtx) }
	return d
}

// Stats returns a snapshot of the decoder's counters.
func (d *DatagramDecoder) Stats() DecoderStats {
	return d.stats.snapshot()
}

// Decode decodes one datagram sent by exporter (the UDP source address),
// calling emit for each flow record, in datagram order. The *Record passed
// to emit is only valid during the call; copy the value to keep it. emit may
// be nil (the datagram then only updates state and counters).
//
// received is the arrival time: it is used only when the datagram carries no
// usable time (sFlow always; see the package documentation).
//
// Decode returns nil when the whole datagram was used. Otherwise it returns
// a *DecodeError describing the first skipped part (its Kind is
// ErrMalformed, ErrUnknownFormat, ErrTemplateMissing, ErrUnsupported or
// ErrLimit, and its More field counts further skipped parts); records
// decoded from the other parts are still emitted and counted. Decode never
// panics on bad input and never retains datagram.
func (d *DatagramDecoder) Decode(exporter netip.Addr, received time.Time, datagram []byte, emit func(*Record)) error {
	c := d.pool.Get().(*decodeCtx)
	c.emit, c.rec = emit, &c.one
	return d.decode(c, exporter, received, datagram)
}

// RunLen is the most records DecodeRuns hands over at once.
const RunLen = 32

// DecodeRuns is Decode for a consumer that takes records in runs: it
// decodes up to RunLen consecutive records of the datagram in place into
// one array, then calls emit with them (in datagram order; a datagram's
// last run may be shorter), without copying them. A consumer that reads
// ahead for a run of records (exfil.Writer.ObserveBatch) gets its runs
// for free. The records are only valid during the call, and the decoder
// writes the next datagram's over them (it does not clear them between
// datagrams: that cost 6-8% of DecodeRuns, BenchmarkDecodeRuns, and a
// decoded record holds no pointer to the heap); the rest is as for
// Decode.
func (d *DatagramDecoder) DecodeRuns(exporter netip.Addr, received time.Time, datagram []byte, emit func([]Record)) error {
	if emit == nil {
		return d.Decode(exporter, received, datagram, nil)
	}
	c := d.pool.Get().(*decodeCtx)
	c.emitRun, c.nrun, c.rec = emit, 0, &c.run[0]
	return d.decode(c, exporter, received, datagram)
}

func (d *DatagramDecoder) decode(c *decodeCtx, exporter netip.Addr, received time.Time, datagram []byte) error {
	c.d = d
	c.exporter = exporter.Unmap()
	c.received = received.UTC()
	c.domain = 0
	c.err = nil
	c.nrec = 0

	f, ok := SniffFormat(datagram)
	c.format = f
	if ok {
		d.stats.datagrams[f].Add(1)
	}
	switch f {
	case FormatNetFlowV5:
		c.decodeV5(datagram)
	case FormatNetFlowV9, FormatIPFIX:
		c.decodeNetFlow(datagram)
	case FormatSFlow:
		c.decodeSFlow(datagram)
	default:
		n := len(datagram)
		if n > 8 {
			n = 8
		}
		c.fail(ErrUnknownFormat, 0, 0, nil, "first bytes %x", datagram[:n])
	}
	if c.nrun > 0 {
		c.flushRun()
	}
	if c.nrec > 0 {
		d.stats.records.Add(c.nrec)
	}
	if c.npad > 0 {
		d.stats.padding.Add(c.npad)
		c.npad = 0
	}
	if c.fastSets > 0 {
		d.stats.fastSets.Add(c.fastSets)
		c.fastSets = 0
	}
	if c.goflowSets > 0 {
		d.stats.goflowSets.Add(c.goflowSets)
		c.goflowSets = 0
	}

	var err error
	if c.err != nil {
		err = c.err
	}
	c.d, c.emit, c.emitRun, c.err = nil, nil, nil, nil
	// Drop the references into the datagram: it is not retained.
	c.dg, c.ff.frameSection, c.ff.ipSection = nil, nil, nil
	c.buf = bytes.Buffer{}
	d.pool.Put(c)
	return err
}

// state returns the exporter's state, creating it when the limit allows.
func (d *DatagramDecoder) state(addr netip.Addr) *exporterState {
	if st := (*d.exporters.Load())[addr]; st != nil {
		return st
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *d.exporters.Load()
	if st := old[addr]; st != nil {
		return st
	}
	if len(old) >= d.cfg.maxExporters {
		return nil
	}
	m := make(map[netip.Addr]*exporterState, len(old)+1)
	maps.Copy(m, old)
	st := newExporterState(&d.cfg)
	m[addr] = st
	d.exporters.Store(&m)
	return st
}

// decodeCtx is the per-call scratch space, pooled so that decoding does
// not allocate per record.
type decodeCtx struct {
	d        *DatagramDecoder
	format   Format
	exporter netip.Addr
	received time.Time
	domain   uint32
	emit     func(*Record)
	emitRun  func([]Record) // DecodeRuns' consumer; emit is nil then
	err      *DecodeError
	nrec     uint64
	npad     uint64 // all-zero records read from set padding

	// nfRecords counts the NetFlow v9 records seen, for the header
	// count check.
	nfRecords int

	// Data sets decoded by each path, for tests.
	fastSets, goflowSets uint64

	// The domain's systemInitTimeMilliseconds from options data, looked
	// up once per data set (sysInitKnown is cleared at each set).
	sysInit      uint64
	haveSysInit  bool
	sysInitKnown bool

	// setRate is the sampling rate of every record of the data set being
	// decoded, when its template has no sampling field (the fast path
	// looks it up once per set); 0 when each record needs its own.
	setRate uint32

	dg  []byte  // the NetFlow v9/IPFIX datagram being decoded
	rec *Record // the record being decoded: &one, or &run[nrun] for DecodeRuns
	one Record
	// DecodeRuns' records: run[:nrun] are decoded and wait for emitRun.
	run   [RunLen]Record
	nrun  int
	ff    flowFields
	buf   bytes.Buffer
	v5buf []byte
}

// fail records a skipped part: counts it and keeps the first error.
func (c *decodeCtx) fail(kind error, setID uint32, off int, err error, format string, args ...any) {
	c.d.stats.drops[dropKindOf(kind)].Add(1)
	if c.err != nil {
		c.err.More++
		return
	}
	c.err = &DecodeError{
		Format:   c.format,
		Exporter: c.exporter,
		Domain:   c.domain,
		SetID:    setID,
		Offset:   off,
		Kind:     kind,
		Detail:   fmt.Sprintf(format, args...),
		Err:      err,
	}
}

// emitRecord hands c.rec to the caller: at once, or for DecodeRuns as
// the last of the run, which goes to the caller when it is full.
func (c *decodeCtx) emitRecord() {
	c.nrec++
	if c.emitRun != nil {
		c.nrun++
		if c.nrun == RunLen {
			c.flushRun()
		}
		c.rec = &c.run[c.nrun]
		return
	}
	if c.emit != nil {
		c.emit(c.rec)
	}
}

// flushRun hands the decoded run to DecodeRuns' consumer.
func (c *decodeCtx) flushRun() {
	n := c.nrun
	c.nrun = 0
	c.emitRun(c.run[:n])
}
