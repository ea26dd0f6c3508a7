#!/usr/bin/env bash
# PeerChat's one entry point.
#
#   ./build.sh run [app flags]   install the C libraries Gio needs (when missing) and start the app
#   ./build.sh test              format check, vet, tests with -race, a few seconds of every fuzz
#                                target, and the cross-builds CI must prove (what CI runs)
#   ./build.sh server            peerchat-server for linux/amd64, linux/arm64, windows/amd64,
#                                darwin/arm64 into dist/
#   ./build.sh windows           the app as a Windows .exe into dist/
#   ./build.sh linux             the app for Linux (binary, .desktop file, icons) into dist/linux/
#   ./build.sh android           a signed APK with gogio (needs the Android SDK and NDK)
#
# Environment: FUZZTIME (default 3s) sets how long each fuzz target runs in `test`.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

# Debian packages: what building the Gio app needs, and what its tests need on top.
GIO_PKGS=(gcc pkg-config libwayland-dev libx11-dev libx11-xcb-dev libxkbcommon-x11-dev
	libgles2-mesa-dev libegl1-mesa-dev libffi-dev libxcursor-dev libvulkan-dev)
TEST_PKGS=(libgl1-mesa-dri xvfb xdotool imagemagick)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# ensure_pkgs installs the Debian packages that are missing, as root or
# through sudo; otherwise it says exactly what to run.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if ! command -v apt-get >/dev/null; then
		die "missing packages ${missing[*]} and no apt-get: install their equivalents for your system"
	fi
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null; then sudo="sudo"; else
			die "missing packages: run as root: apt-get update && apt-get install -y ${missing[*]}"
		fi
	fi
	log "installing ${missing[*]}"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

cmd_run() {
	ensure_pkgs "${GIO_PKGS[@]}"
	go run ./cmd/peerchat "$@"
}

cmd_test() {
	ensure_pkgs "${GIO_PKGS[@]}" "${TEST_PKGS[@]}"
	local fuzztime="${FUZZTIME:-3s}"

	log "gofmt"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	[ -z "$unformatted" ] || die "gofmt would change: $unformatted"

	log "go vet"
	go vet ./...

	log "go test -race"
	go test -race -count=1 -timeout 15m ./...

	log "fuzz, $fuzztime each"
	local pkg target
	for pkg in $(go list ./...); do
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			log "  $pkg $target"
			go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/dev/null ||
				die "fuzz $pkg $target failed: rerun with go test -run '^\$' -fuzz '^${target}\$' $pkg"
		done
	done

	log "cross-builds"
	GOOS=android GOARCH=arm64 CGO_ENABLED=0 go build ./core/... ./server/... ./ui/...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -o /dev/null ./cmd/peerchat
	cmd_server >/dev/null
	android_fails_fast
	log "all checks passed"
}

# The version and app id live in one place: cmd/peerchat/version.go.
app_version() { sed -n 's/^const Version = "\(.*\)"/\1/p' cmd/peerchat/version.go 2>/dev/null || echo dev; }

cmd_server() {
	local v t os arch ext
	v=$(app_version)
	mkdir -p dist
	for t in linux/amd64 linux/arm64 windows/amd64 darwin/arm64; do
		os=${t%/*} arch=${t#*/} ext=""
		[ "$os" = windows ] && ext=.exe
		GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$v" \
			-o "dist/peerchat-server-$os-$arch$ext" ./cmd/peerchat-server
		echo "dist/peerchat-server-$os-$arch$ext"
	done
}

cmd_windows() { die "windows: not yet available"; }
cmd_linux() { die "linux: not yet available"; }
cmd_android() { die "android: not yet available"; }

# android_fails_fast checks that `./build.sh android` without an SDK stops at
# once with its one-line message.
android_fails_fast() {
	[ -n "${ANDROID_HOME:-}" ] && return 0
	local out
	if out=$(timeout 60 ./build.sh android 2>&1); then die "build.sh android succeeded without an SDK"; fi
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || die "build.sh android without an SDK printed more than one line: $out"
}

case "${1:-}" in
run | test | server | windows | linux | android)
	c=$1
	shift
	"cmd_$c" "$@"
	;;
*)
	sed -n '2,13s/^# \{0,1\}//p' "$0"
	exit 2
	;;
esac
