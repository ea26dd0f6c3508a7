package server

import (
	"runtime"
	"sync"
)

// writerPool is a few goroutines that write to the connections that have
// frames queued and no writer (conn.drain). They never wait for a full
// socket: such a connection gets a writer goroutine of its own
// (conn.writeLoop) until its queue is empty. So a fan-out to N connections
// starts no N goroutines, and the memory of a burst stays that of the
// frames queued.
type writerPool struct {
	n    int // workers
	mu   sync.Mutex
	cond sync.Cond
	// ready is the connections to write to, oldest first from head.
	ready   []*conn
	head    int
	running bool
	wg      sync.WaitGroup
}

// numWriters returns the number of writerPool workers: one per CPU the Go
// scheduler uses, at most 4.
func numWriters() int { return min(max(runtime.GOMAXPROCS(0), 1), 4) }

// run starts the workers.
func (p *writerPool) run() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cond.L = &p.mu
	p.running = true
	for range p.n {
		p.wg.Add(1)
		go p.work()
	}
}

// stop waits for the workers to write what they were given, and ends them.
// Connections started after stop get a goroutine each.
func (p *writerPool) stop() {
	p.mu.Lock()
	p.running = false
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wg.Wait()
}

// start has c written to by a worker; the caller has claimed c's busy. It
// never blocks.
func (p *writerPool) start(c *conn) {
	p.mu.Lock()
	if !p.running || c.raw == nil { // without fastWrite, writes block
		p.mu.Unlock()
		go c.writeLoop()
		return
	}
	p.ready = append(p.ready, c)
	p.mu.Unlock()
	p.cond.Signal()
}

// work drains the ready connections until stop.
func (p *writerPool) work() {
	defer p.wg.Done()
	p.mu.Lock()
	for {
		for p.head == len(p.ready) && p.running {
			p.cond.Wait()
		}
		if p.head == len(p.ready) { // stopped, nothing left
			p.mu.Unlock()
			return
		}
		c := p.ready[p.head]
		p.ready[p.head] = nil
		p.head++
		if p.head == len(p.ready) {
			p.head = 0
			p.ready = p.ready[:0]
			if cap(p.ready) > 1<<14 {
				p.ready = nil // let a burst's array go
			}
		}
		p.mu.Unlock()
		c.drain(true)
		p.mu.Lock()
	}
}
