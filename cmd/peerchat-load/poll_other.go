//go:build !linux

package main

import (
	"errors"
	"time"
)

// pollSupported reports whether this system has the epoll reader.
const pollSupported = false

var errNoPoll = errors.New("the epoll reader needs Linux")

// poller is the epoll reader, which this system does not have.
type poller struct{}

func newPoller(*load) (*poller, error)                       { return nil, errNoPoll }
func (p *poller) add(*client) error                          { return errNoPoll }
func (p *poller) stop()                                      {}
func (c *client) shutdownFD()                                {}
func (c *client) writeFD(b []byte, deadline time.Time) error { return errNoPoll }
