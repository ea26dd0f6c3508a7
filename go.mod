module peerchat

go 1.26.0

require (
	gioui.org v0.10.3 // indirect
	gioui.org/x v0.10.0 // indirect
	github.com/hashicorp/mdns v1.0.7 // indirect
	github.com/miekg/dns v1.1.72 // indirect
	go.etcd.io/bbolt v1.4.3 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)
