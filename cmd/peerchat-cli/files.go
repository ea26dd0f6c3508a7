package main

import (
	"encoding/hex"
	"path/filepath"
	"time"

	"peerchat/core/client"
)

// Files in the terminal client (issue 12): /send NICK PATH, /picture PATH,
// /accept-file NICK ID, /decline-file NICK ID, /cancel-file NICK ID; files
// received go to -downloads; with -json, file_offer, file_progress (at most
// a few a second: the core paces them; "wire" is the chunk bytes this run
// sent or took for the transfer, transfer.Progress.Wire), file_done (with
// the saved path and the SHA-256) and file_failed.

// filesDirs returns the downloads directory (-downloads; "-" refuses
// files; default: downloads in -data) and the directory where outgoing
// transfers are kept to resume after a restart (files in -data).
func (o *options) filesDirs() (downloads, state string) {
	downloads = o.downloads
	switch {
	case downloads == "-":
		downloads = ""
	case downloads == "" && o.data != "" && !o.noKeys:
		downloads = filepath.Join(o.data, "downloads")
	}
	if o.data != "" && !o.noKeys {
		state = filepath.Join(o.data, "files")
	}
	return downloads, state
}

// fileCommand runs the file commands; it reports whether cmd was one.
func (cl *cli) fileCommand(cmd, arg, text string) bool {
	switch cmd {
	case "/send":
		if arg == "" || text == "" {
			cl.errorf("usage: /send NICK PATH")
			return true
		}
		id, err := cl.c.SendFile(arg, text)
		if err != nil {
			cl.check(err)
			return true
		}
		cl.print(map[string]any{"type": "file_queued", "peer": arg, "id": id, "path": text}, "(file %s to %s queued: %s)", id, arg, text)
	case "/picture":
		path := arg
		if text != "" {
			path += " " + text
		}
		if path == "" {
			cl.errorf("usage: /picture PATH")
			return true
		}
		id, err := cl.c.BroadcastImage(path)
		if err != nil {
			cl.check(err)
			return true
		}
		cl.print(map[string]any{"type": "file_queued", "peer": "", "id": id, "path": path}, "(picture %s to everyone queued: %s)", id, path)
	case "/accept-file", "/decline-file", "/cancel-file":
		if arg == "" || text == "" {
			cl.errorf("usage: %s NICK ID", cmd)
			return true
		}
		var err error
		switch cmd {
		case "/accept-file":
			err = cl.c.AcceptFile(arg, text)
		case "/decline-file":
			err = cl.c.DeclineFile(arg, text)
		default:
			err = cl.c.CancelFile(arg, text)
		}
		cl.check(err)
	default:
		return false
	}
	return true
}

// fileObj is the JSON of a transfer.
func fileObj(typ, peer string, f *client.FileInfo) map[string]any {
	obj := map[string]any{"type": typ, "peer": peer}
	if f != nil {
		obj["id"], obj["name"], obj["size"], obj["mime"] = f.ID, f.Name, f.Size, f.MIME
		obj["outgoing"], obj["parked"] = f.Outgoing, f.Parked
		if f.SHA256 != ([32]byte{}) { // known once read or named by FILE_END
			obj["sha256"] = hex.EncodeToString(f.SHA256[:])
		}
		if f.Path != "" {
			obj["path"] = f.Path
		}
		if f.From != "" {
			obj["from"] = f.From
		}
	}
	return obj
}

// fileEvent prints the events of file transfers; it reports whether e was
// one.
func (cl *cli) fileEvent(e client.Event) bool {
	f := e.File
	name := ""
	if f != nil {
		name = f.Name
	}
	switch e.Kind {
	case client.EventFileOffer:
		cl.print(fileObj("file_offer", e.Peer, f), "* %s offers %s (%d bytes): /accept-file %s %s or /decline-file %s %s",
			e.Peer, name, f.Size, e.Peer, f.ID, e.Peer, f.ID)
		if cl.o.acceptFiles {
			cl.check(cl.c.AcceptFile(e.Peer, f.ID))
		}
	case client.EventFileProgress:
		obj := fileObj("file_progress", e.Peer, f)
		obj["done"], obj["total"], obj["rate"], obj["left_ms"], obj["paused"], obj["wire"] =
			e.Progress.Done, e.Progress.Total, e.Progress.Rate, e.Progress.Left.Milliseconds(), e.Paused, e.Progress.Wire
		if e.Paused {
			cl.print(obj, "  %s: paused at %d of %d bytes (resumes when %s is back)", name, e.Progress.Done, e.Progress.Total, e.Peer)
			break
		}
		cl.print(obj, "  %s: %d of %d bytes, %.1f MB/s, %v left", name, e.Progress.Done, e.Progress.Total,
			e.Progress.Rate/1e6, e.Progress.Left.Round(time.Second))
	case client.EventFileDone:
		if f != nil && f.Outgoing {
			cl.print(fileObj("file_done", e.Peer, f), "* %s received %s (SHA-256 %x)", e.Peer, name, f.SHA256)
			break
		}
		cl.print(fileObj("file_done", e.Peer, f), "* received %s from %s: %s (SHA-256 %x)", name, e.Peer, f.Path, f.SHA256)
	case client.EventFileFailed:
		obj := fileObj("file_failed", e.Peer, f)
		obj["error"] = errText(e.Err)
		cl.print(obj, "! file %s: %v", name, e.Err)
	default:
		return false
	}
	return true
}
