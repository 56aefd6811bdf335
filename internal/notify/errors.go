package notify

import "errors"

// ErrNotHeld: a delivery's lease passed to another node (or the delivery
// is gone) before its outcome was recorded.
var ErrNotHeld = errors.New("notify: the delivery is not held by this owner")
