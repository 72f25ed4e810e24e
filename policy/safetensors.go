package policy

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// A safetensors file: an 8-byte little-endian header length, a JSON header
// mapping tensor names to {dtype, shape, data_offsets}, then the raw
// little-endian data. Tensors are written in name order and the header is
// space-padded to 8 bytes, so the same tensors always give the same bytes.

type stEntry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// encodeSafetensors serialises named float32 tensors.
func encodeSafetensors(names []string, shapes map[string][]int, data map[string][]float32, meta map[string]string) []byte {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	hdr := map[string]any{}
	if len(meta) > 0 {
		hdr["__metadata__"] = meta
	}
	off := 0
	for _, n := range sorted {
		sz := 4 * len(data[n])
		hdr[n] = stEntry{DType: "F32", Shape: shapes[n], Offsets: [2]int{off, off + sz}}
		off += sz
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	copy(out[8:], h)
	p := 8 + len(h)
	for _, n := range sorted {
		for _, v := range data[n] {
			binary.LittleEndian.PutUint32(out[p:], math.Float32bits(v))
			p += 4
		}
	}
	return out
}

// decodeSafetensors checks the file's structure and returns its tensors'
// entries and data section. file names the file in errors.
func decodeSafetensors(file string, b []byte) (map[string]stEntry, []byte, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("policy: %s: truncated: %d bytes, no header", file, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) || n > 1<<26 {
		return nil, nil, fmt.Errorf("policy: %s: header length %d exceeds the file (%d bytes): truncated or damaged", file, n, len(b))
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+n]))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("policy: %s: damaged header: %v", file, err)
	}
	data := b[8+n:]
	ents := map[string]stEntry{}
	for k, v := range raw {
		if k == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, nil, fmt.Errorf("policy: %s: tensor %q: damaged entry: %v", file, k, err)
		}
		if e.DType != "F32" {
			return nil, nil, fmt.Errorf("policy: %s: tensor %q has dtype %s, want F32", file, k, e.DType)
		}
		size := 1
		for _, d := range e.Shape {
			if d < 0 || d > 1<<28 || (d > 0 && size > len(data)/4/d) {
				return nil, nil, fmt.Errorf("policy: %s: tensor %q has shape %v, more than the file's %d data bytes hold", file, k, e.Shape, len(data))
			}
			size *= d
		}
		if e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > len(data) {
			return nil, nil, fmt.Errorf("policy: %s: tensor %q data [%d, %d) lies outside the %d data bytes: truncated or damaged", file, k, e.Offsets[0], e.Offsets[1], len(data))
		}
		if e.Offsets[1]-e.Offsets[0] != 4*size {
			return nil, nil, fmt.Errorf("policy: %s: tensor %q has %d bytes for shape %v (want %d)", file, k, e.Offsets[1]-e.Offsets[0], e.Shape, 4*size)
		}
		ents[k] = e
	}
	// no two tensors may share bytes
	order := make([]string, 0, len(ents))
	for k := range ents {
		order = append(order, k)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := ents[order[i]].Offsets, ents[order[j]].Offsets
		return a[0] < b[0] || (a[0] == b[0] && order[i] < order[j])
	})
	for i := 1; i < len(order); i++ {
		p, q := ents[order[i-1]], ents[order[i]]
		if q.Offsets[0] < p.Offsets[1] && q.Offsets[1] > q.Offsets[0] {
			return nil, nil, fmt.Errorf("policy: %s: tensors %q [%d, %d) and %q [%d, %d) overlap", file, order[i-1], p.Offsets[0], p.Offsets[1], order[i], q.Offsets[0], q.Offsets[1])
		}
	}
	return ents, data, nil
}

// readTensor copies tensor name from a decoded file into dst, checking its shape.
func readTensor(file string, ents map[string]stEntry, data []byte, name string, shape []int, dst []float32) error {
	e, ok := ents[name]
	if !ok {
		return fmt.Errorf("policy: %s: tensor %q is missing", file, name)
	}
	if !equalInts(e.Shape, shape) {
		return fmt.Errorf("policy: %s: tensor %q has shape %v, the config wants %v", file, name, e.Shape, shape)
	}
	src := data[e.Offsets[0]:e.Offsets[1]]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
