package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"peerchat/core/wire"
)

// Serve accepts connections on ln until ctx is done, Shutdown is called, or ln
// fails, and returns after every connection it accepted is closed. When ctx
// is done, queued frames get DefaultShutdownGrace to drain. Serve returns
// ErrServerClosed after Shutdown, ctx.Err() after ctx is done, or the
// listener's error. A Server serves one listener, once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.serving || s.closing {
		s.mu.Unlock()
		if s.closing {
			return ErrServerClosed
		}
		return ErrServing
	}
	if s.keys && s.mail == nil {
		ms, err := openTempMailStore()
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.mail, s.mailTemp = ms, true
	}
	if s.keys {
		if err := s.startReplay(); err != nil {
			s.mu.Unlock()
			if s.mailTemp {
				s.mail.Close()
			}
			return fmt.Errorf("server: %w", err)
		}
	}
	s.serving = true
	s.ln = ln
	s.wg.Add(2)
	if s.keys {
		s.wg.Add(3)
		go s.mailJanitor()
		go s.mailLoop()
		go s.bcastLoop()
	}
	s.mu.Unlock()

	s.writers.run()
	go s.heartbeat()
	go func() { // ends at ctx done or at shutdown, whichever comes first
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownGrace)
			defer cancel()
			s.shutdown(sctx, false)
		case <-s.done:
		}
	}()

	s.log.Info("serving", "addr", ln.Addr().String(), "name", s.cfg.Name)
	var err error
	var backoff time.Duration
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if s.isClosing() {
				err = ErrServerClosed
				if ctx.Err() != nil {
					err = ctx.Err()
				}
				break
			}
			var ne net.Error
			if errors.As(aerr, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept", "err", aerr, "retry_in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
				}
				continue
			}
			err = fmt.Errorf("server: accept: %w", aerr)
			sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownGrace)
			s.shutdown(sctx, false)
			cancel()
			break
		}
		backoff = 0
		s.accept(nc)
	}
	s.wg.Wait() // every connection finished: nothing more to write
	s.writers.stop()
	if s.keys {
		s.flushKept() // the broadcasts of the last moments
	}
	if s.mailTemp {
		s.mail.Close()
	}
	return err
}

func (s *Server) isClosing() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closing
}

// Shutdown stops accepting, sends every client ERROR server shutting down,
// lets queued frames drain until ctx is done, then closes every connection.
// It returns when every connection is closed: nil if they drained in time,
// ctx.Err() otherwise.
func (s *Server) Shutdown(ctx context.Context) error { return s.shutdown(ctx, true) }

// Close stops accepting and closes every connection without waiting for its
// queue to drain: a client may or may not get its ERROR server shutting
// down. It returns when every connection is closed. Use Shutdown to let
// clients hear why.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.shutdown(ctx, true); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (s *Server) shutdown(ctx context.Context, wait bool) error {
	s.mu.Lock()
	if !s.closing {
		s.closing = true
		close(s.done)
		if s.ln != nil {
			s.ln.Close()
		}
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.log.Info("shutting down", "conns", len(conns))

	for _, c := range conns {
		c.closeAfter(ClosedShutdown, s.errShut)
	}
	drained := make(chan struct{})
	go func() {
		for _, c := range conns {
			<-c.finished
		}
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		for _, c := range conns {
			c.closeNow(ClosedShutdown)
		}
		<-drained
	}
	if wait {
		s.wg.Wait()
	}
	return err
}

// accept registers nc as a connection or refuses it.
func (s *Server) accept(nc net.Conn) {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		ip = ap.Addr().Unmap()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: DefaultKeepAlive, Interval: DefaultKeepAlive / 3, Count: 3})
	}
	id := s.nextID.Add(1)
	s.mu.Lock()
	var refuse ClosedState
	switch {
	case s.closing:
		refuse = ClosedShutdown
	case len(s.conns) >= s.cfg.MaxClients:
		refuse = ClosedTooMany
	case s.perIP[ip] >= s.cfg.MaxPerIP:
		refuse = ClosedTooManyFromIP
	}
	if refuse != ClosedUnknown {
		// Tell the client why, with a lingering close (see
		// conn.lingerClose) when a slot is free, without holding up the
		// accept loop: the kernel's send buffer takes a short frame at once.
		linger := false
		if !s.closing {
			select {
			case s.refusing <- struct{}{}:
				linger = true
				s.wg.Add(1)
			default:
			}
		}
		s.mu.Unlock()
		s.refused.Add(1)
		s.closed[refuse].Add(1)
		s.log.Info("refused", "conn", id, "remote", nc.RemoteAddr().String(), "reason", refuse.String())
		nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		wire.WriteMessage(nc, wire.Error{Reason: refuse.String()})
		cw, ok := nc.(interface{ CloseWrite() error })
		if !linger || !ok || cw.CloseWrite() != nil {
			nc.Close()
			if linger {
				<-s.refusing
				s.wg.Done()
			}
			return
		}
		go func() {
			defer s.wg.Done()
			defer func() { <-s.refusing }()
			nc.SetReadDeadline(time.Now().Add(closeLinger))
			io.Copy(io.Discard, io.LimitReader(nc, lingerBytes))
			nc.Close()
		}()
		return
	}
	c := newConn(s, nc, id, ip)
	s.conns[c] = struct{}{}
	s.accepted.Add(1) // under s.mu, so Accepted and Conns agree
	s.perIP[ip]++
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve() // writers start when there is something to write
}

// heartbeat PINGs every heartbeat client each HeartbeatInterval until the
// server shuts down; with keys, it also records now and then that the
// connected holders of nicks are still here (touchHolders).
func (s *Server) heartbeat() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.HeartbeatInterval)
	defer t.Stop()
	var seen <-chan time.Time
	if s.keys {
		st := time.NewTicker(max(min(s.cfg.NickHold/8, maxSeenEvery), time.Millisecond))
		defer st.Stop()
		seen = st.C
	}
	for {
		select {
		case <-s.done:
			return
		case <-seen:
			s.touchHolders()
			continue
		case <-t.C:
		}
		s.mu.Lock()
		s.ping++
		var ping []byte
		var w *wakeList
		for _, p := range s.list {
			if p.heartbeat {
				if ping == nil {
					ping = wire.Encode(wire.Ping{Token: strconv.FormatUint(s.ping, 10)})
				}
				w = w.queue(p, &ping)
			}
		}
		s.mu.Unlock()
		s.wake(w, true)
	}
}
