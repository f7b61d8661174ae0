package flowsrc

import (
	"errors"
	"fmt"
	"sync"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// exporterState is what one NetFlow v9/IPFIX exporter has announced:
// templates, sampler rates and system init times, per observation domain.
// mu serialises the datagrams of the exporter.
type exporterState struct {
	mu        sync.Mutex
	templates *templateStore
	samplers  samplerTable
	sysInit   map[domainKey]uint64 // systemInitTimeMilliseconds (IE 160)
}

func newExporterState(cfg *decoderConfig) *exporterState {
	return &exporterState{
		templates: newTemplateStore(cfg.maxTemplates, cfg.maxTemplateFields),
		samplers:  samplerTable{max: cfg.maxSamplers},
		sysInit:   make(map[domainKey]uint64),
	}
}

type domainKey struct {
	version uint16
	domain  uint32
}

// templateStore is one exporter's template system. It implements goflow2's
// netflow.NetFlowTemplateSystem, keyed like goflow2 by (version, domain,
// template ID) — one store per exporter, because goflow2's key has no
// exporter. AddTemplate refuses degenerate templates (no fields, or records
// of zero bytes, which would make goflow2's DecodeDataSet loop forever),
// template IDs below 256, over-long templates and more than max templates.
// Each data template is compiled into a [recordPlan] when it is added, for
// the fast path.
//
// It does no locking of its own: the exporter's mutex guards it.
type templateStore struct {
	max       int
	maxFields int
	entries   map[uint64]*templateEntry
}

// templateEntry is one stored template: the goflow2 template record and,
// for a data template, its compiled plan (nil for options templates).
type templateEntry struct {
	tpl  any
	plan *recordPlan
}

var _ netflow.NetFlowTemplateSystem = (*templateStore)(nil)

func newTemplateStore(max, maxFields int) *templateStore {
	return &templateStore{max: max, maxFields: maxFields, entries: make(map[uint64]*templateEntry)}
}

func templateKey(version uint16, domain uint32, id uint16) uint64 {
	return uint64(version)<<48 | uint64(domain)<<16 | uint64(id)
}

// Errors returned by AddTemplate; each wraps a sentinel of this package.
var (
	errTemplateStoreFull  = fmt.Errorf("template store full: %w", ErrLimit)
	errTemplateTooLong    = fmt.Errorf("template has too many fields: %w", ErrLimit)
	errDegenerateTemplate = fmt.Errorf("template describes zero-length records: %w", ErrMalformed)
	errTemplateID         = fmt.Errorf("template ID below 256: %w", ErrMalformed)
	errTemplateType       = fmt.Errorf("not a goflow2 template record: %w", ErrUnsupported)
)

// minRecordSize returns the smallest number of bytes a record of fields
// occupies: fixed lengths plus one length byte per variable-length field.
func minRecordSize(fields []netflow.Field) int {
	n := 0
	for _, f := range fields {
		if f.Length == 0xffff {
			n++
		} else {
			n += int(f.Length)
		}
	}
	return n
}

// AddTemplate stores template (a netflow.TemplateRecord,
// NFv9OptionsTemplateRecord or IPFIXOptionsTemplateRecord) or returns an
// error wrapping ErrMalformed, ErrLimit or ErrUnsupported. A data template
// is compiled for the fast path; a template resent unchanged keeps its
// compiled plan (exporters resend templates every few seconds).
func (ts *templateStore) AddTemplate(version uint16, domain uint32, id uint16, template interface{}) error {
	if id < 256 {
		return errTemplateID
	}
	var nfields, size int
	var fields []netflow.Field
	switch t := template.(type) {
	case netflow.TemplateRecord:
		nfields, size = len(t.Fields), minRecordSize(t.Fields)
		fields = t.Fields
	case netflow.NFv9OptionsTemplateRecord:
		nfields = len(t.Scopes) + len(t.Options)
		size = minRecordSize(t.Scopes) + minRecordSize(t.Options)
	case netflow.IPFIXOptionsTemplateRecord:
		nfields = len(t.Scopes) + len(t.Options)
		size = minRecordSize(t.Scopes) + minRecordSize(t.Options)
	default:
		return errTemplateType
	}
	if nfields > ts.maxFields {
		return errTemplateTooLong
	}
	if size == 0 {
		return errDegenerateTemplate
	}
	key := templateKey(version, domain, id)
	old, ok := ts.entries[key]
	if !ok && len(ts.entries) >= ts.max {
		return errTemplateStoreFull
	}
	e := &templateEntry{tpl: template}
	if fields != nil {
		if ok && old.plan != nil && old.plan.sameFields(fields) {
			e.plan = old.plan
		} else {
			e.plan = compileTemplate(version, fields)
		}
	}
	ts.entries[key] = e
	return nil
}

// entry returns the stored template, or nil.
func (ts *templateStore) entry(version uint16, domain uint32, id uint16) *templateEntry {
	return ts.entries[templateKey(version, domain, id)]
}

// GetTemplate returns the stored template or netflow.ErrorTemplateNotFound.
func (ts *templateStore) GetTemplate(version uint16, domain uint32, id uint16) (interface{}, error) {
	if e := ts.entry(version, domain, id); e != nil {
		return e.tpl, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

// RemoveTemplate deletes and returns a template (IPFIX withdrawal).
func (ts *templateStore) RemoveTemplate(version uint16, domain uint32, id uint16) (interface{}, error) {
	key := templateKey(version, domain, id)
	if e, ok := ts.entries[key]; ok {
		delete(ts.entries, key)
		return e.tpl, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

// GetTemplates returns a copy of all stored templates.
func (ts *templateStore) GetTemplates() netflow.FlowBaseTemplateSet {
	all := make(netflow.FlowBaseTemplateSet, len(ts.entries))
	for key, e := range ts.entries {
		all[key] = e.tpl
	}
	return all
}

// removeAll withdraws every data template (options == false) or options
// template (options == true) of a domain (IPFIX "withdraw all").
func (ts *templateStore) removeAll(version uint16, domain uint32, options bool) {
	for key, e := range ts.entries {
		if key>>16 != templateKey(version, domain, 0)>>16 {
			continue
		}
		_, isData := e.tpl.(netflow.TemplateRecord)
		if isData != options {
			delete(ts.entries, key)
		}
	}
}

// samplerKey identifies a sampler announced in options data: a sampler or
// selector ID (IE 48 / 302) or, when hasID is false, the domain-wide rate.
type samplerKey struct {
	domainKey
	id    uint64
	hasID bool
}

type samplerTable struct {
	max   int
	rates map[samplerKey]uint32
	// single holds, per domain, the rate of its only identified sampler,
	// or 0 when it has none or several: the fallback for data records
	// that carry no sampler ID.
	single map[domainKey]uint32

	// Recent rate queries and their answers, by the low bits of the
	// sampler ID: the records of a data set name a few samplers (or
	// none), so most records cost one comparison instead of up to three
	// map lookups. set clears it.
	memo [4]samplerMemo
}

type samplerMemo struct {
	key  samplerKey
	rate uint32
	ok   bool
}

var errSamplerTableFull = errors.New("sampler table full")

func (t *samplerTable) set(k samplerKey, rate uint32) error {
	if t.rates == nil {
		t.rates = make(map[samplerKey]uint32)
		t.single = make(map[domainKey]uint32)
	}
	if _, ok := t.rates[k]; !ok && len(t.rates) >= t.max {
		return errSamplerTableFull
	}
	t.rates[k] = rate
	t.memo = [4]samplerMemo{}
	if k.hasID {
		n, last := 0, uint32(0)
		for o, r := range t.rates {
			if o.hasID && o.domainKey == k.domainKey {
				n++
				last = r
			}
		}
		if n == 1 {
			t.single[k.domainKey] = last
		} else {
			delete(t.single, k.domainKey)
		}
	}
	return nil
}

// rate returns the sampling rate for a data record of domain dk carrying
// sampler ID id (when hasID): the matching sampler, else the domain-wide
// rate, else (records without ID only) the domain's single sampler; 0 when
// unknown.
func (t *samplerTable) rate(dk domainKey, id uint64, hasID bool) uint32 {
	if t.rates == nil {
		return 0
	}
	if !hasID {
		id = 0
	}
	k := samplerKey{dk, id, hasID}
	m := &t.memo[id&3]
	if m.ok && m.key == k {
		return m.rate
	}
	r := t.lookup(dk, id, hasID)
	*m = samplerMemo{k, r, true}
	return r
}

func (t *samplerTable) lookup(dk domainKey, id uint64, hasID bool) uint32 {
	if hasID {
		if r, ok := t.rates[samplerKey{dk, id, true}]; ok {
			return r
		}
	}
	if r, ok := t.rates[samplerKey{dk, 0, false}]; ok {
		return r
	}
	if !hasID {
		return t.single[dk]
	}
	return 0
}
