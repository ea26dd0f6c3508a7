package main

import "flag"

// version is the app's version. The one source of every PeerChat version is
// the file VERSION at the root of the repository: build.sh links it into
// every command with -ldflags "-X main.version=$(cat VERSION)"; a plain
// go build or go run says "dev".
var version = "dev"

// versionFlag is -version: print the version and exit.
var versionFlag = flag.Bool("version", false, "print the version and exit")
