package sitesetting

import "errors"

// ErrUnsupported marks a request that would turn on a feature esacert has
// no behaviour for. It comes inside a domain.ParamError that names the
// parameter, with a public Reason that names the feature (see Fixed).
var ErrUnsupported = errors.New("feature not supported")
