package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// ParseRecordData reads the Data parameter: a JSON object whose keys are
// matched case-insensitively (the SDKs send "Value", the documents and some
// clients "value"). Integers may be JSON numbers or numeric strings; null
// and unknown keys (such as the Tags that answers carry) are ignored. Which
// fields the record type allows is checked later, by the use cases.
func ParseRecordData(raw string) (RecordData, error) {
	var d RecordData
	obj, err := parseObject("Data", raw, `{"Value":"192.0.2.1"}`)
	if err != nil {
		return d, err
	}
	seen := map[string]string{}
	for key, v := range obj {
		lower := strings.ToLower(key)
		str, num := d.field(lower)
		if str == nil && num == nil || v == nil {
			continue
		}
		if prev, ok := seen[lower]; ok {
			return RecordData{}, domain.Invalid("Data", fmt.Sprintf("has the key %s twice (as %s)", key, prev))
		}
		seen[lower] = key
		if str != nil {
			s, ok := v.(string)
			if !ok {
				return RecordData{}, domain.Invalid("Data", key+" must be a string")
			}
			*str = s
			continue
		}
		n, err := jsonInt(v)
		if err != nil {
			return RecordData{}, domain.Invalid("Data", key+" must be an integer")
		}
		*num = n
	}
	return d, nil
}

// ParseAuthConf reads the AuthConf parameter like ParseRecordData reads
// Data. An empty string or {} is the zero AuthConf.
func ParseAuthConf(raw string) (AuthConf, error) {
	var a AuthConf
	if strings.TrimSpace(raw) == "" {
		return a, nil
	}
	obj, err := parseObject("AuthConf", raw, `{"AuthType":"public"}`)
	if err != nil {
		return a, err
	}
	for key, v := range obj {
		var dst *string
		switch strings.ToLower(key) {
		case "authtype":
			dst = &a.AuthType
		case "accesskey":
			dst = &a.AccessKey
		case "secretkey":
			dst = &a.SecretKey
		case "region":
			dst = &a.Region
		case "version":
			dst = &a.Version
		}
		if dst == nil || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return AuthConf{}, domain.Invalid("AuthConf", key+" must be a string")
		}
		if *dst != "" && *dst != s {
			return AuthConf{}, domain.Invalid("AuthConf", "has the key "+key+" twice")
		}
		*dst = s
	}
	return a, nil
}

// parseObject decodes raw as one JSON object, numbers kept as json.Number.
func parseObject(param, raw, example string) (map[string]any, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, domain.Missing(param)
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return nil, domain.Invalid(param, "must be a JSON object such as "+example)
	}
	return obj, nil
}

// jsonInt reads a JSON integer, or a string holding one, that fits in 32 bits.
func jsonInt(v any) (int, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, errors.New("not a number")
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		// 10.0 is an integer too, as JavaScript clients may write it.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int32(f)) {
			return 0, err
		}
		n = int64(f)
	}
	return int(n), nil
}
