//go:build !unix && !windows

package livetest

import "errors"

func setReceiveBuffer(uintptr, int) error {
	return errors.New("livetest: ReceiveBuffer is not supported on this system")
}
