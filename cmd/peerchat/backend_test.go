package main

import (
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestBackendConfig: the backend keeps the device identity and pins in the
// app's data directory, and reads the "Refuse unencrypted chats" setting
// at each connect from the atomic the App's SettingsChanged sets.
func TestBackendConfig(t *testing.T) {
	dir := t.TempDir()
	var require atomic.Bool
	var auto atomic.Int64
	var receipts atomic.Bool
	cfg := backendConfig(slog.New(slog.DiscardHandler), dir, &require, &auto, &receipts)
	if cfg.DataDir != dir {
		t.Fatalf("DataDir %q, want %q", cfg.DataDir, dir)
	}
	if cfg.RequireEncryption == nil || cfg.RequireEncryption() {
		t.Fatal("encryption required before the setting says so")
	}
	require.Store(true)
	if !cfg.RequireEncryption() {
		t.Fatal("the setting does not reach the backend")
	}
	if cfg.AutoAcceptBelow == nil || cfg.AutoAcceptBelow() != 0 {
		t.Fatal("files accepted without asking before the setting says so")
	}
	auto.Store(10 << 20)
	if cfg.AutoAcceptBelow() != 10<<20 {
		t.Fatal("the files setting does not reach the backend")
	}
	if cfg.ReadReceipts == nil || cfg.ReadReceipts() {
		t.Fatal("read receipts on before the setting says so")
	}
	receipts.Store(true)
	if !cfg.ReadReceipts() {
		t.Fatal("the read receipts setting does not reach the backend")
	}
	if cfg.Downloads == "" {
		t.Fatal("no downloads directory")
	}
	if len(cfg.ProbeExtra) != 1 || !cfg.ProbeExtra[0].Addr().IsLoopback() {
		t.Fatalf("ProbeExtra %v, want loopback", cfg.ProbeExtra)
	}
}
