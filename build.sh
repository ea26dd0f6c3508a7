#!/usr/bin/env bash
# PeerChat's one entry point.
#
#   ./build.sh deps [app]        install the Debian packages that are missing: what building
#                                the app needs (app), or that and what the tests need (default)
#   ./build.sh run [app flags]   deps app, then start the app
#   ./build.sh test              deps, then everything CI runs: gofmt, go mod tidy check, vet,
#                                staticcheck, tests with -race, the Android type-check, a few
#                                seconds of every fuzz target, govulncheck, the cross-builds and
#                                the version every command reports
#   ./build.sh server            peerchat-server for linux/amd64, linux/arm64, windows/amd64,
#                                darwin/arm64 into dist/
#   ./build.sh windows           the app as a Windows .exe into dist/ (gogio: icon, manifest,
#                                version information)
#   ./build.sh linux             the app for Linux (binary, .desktop file, icons) into dist/linux/
#   ./build.sh android           a signed APK with gogio (needs the Android SDK and NDK)
#
# The version of every command and package is the one line of the file VERSION.
# Environment: FUZZTIME (default 3s) sets how long each fuzz target runs in `test`.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PATH:/usr/local/go/bin"
# The Go release every step uses: go1.26.8's standard library has known
# vulnerabilities reachable from our code (net/http, found by govulncheck
# below). The go command fetches this release from the Go module proxy, like
# a module (about 76 MB, once per machine), whatever Go the machine has.
export GOTOOLCHAIN=go1.27.3

APP_ID=org.peerchat.app # Android package name, Linux .desktop file, Gio's app.ID
APP_NAME=PeerChat
COMMANDS=(peerchat peerchat-server peerchat-cli peerchat-load)
SERVER_TARGETS=(linux/amd64 linux/arm64 windows/amd64 darwin/arm64)
# govulncheck reads a database built from this version of golang.org/x/vulndb
# (its data/osv, indexed by its cmd/indexdb); newer data: a newer version.
VULNDB=golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018

# Debian packages: what building the Gio app needs, and what its tests need on top.
GIO_PKGS=(gcc pkg-config libwayland-dev libx11-dev libx11-xcb-dev libxkbcommon-x11-dev
	libgles2-mesa-dev libegl1-mesa-dev libffi-dev libxcursor-dev libvulkan-dev)
TEST_PKGS=(libegl-mesa0 libgl1-mesa-dri xvfb xdotool imagemagick iproute2 nftables)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# app_version prints the version from VERSION (major.minor.patch).
app_version() {
	local v
	v=$(tr -d ' \t\r\n' <VERSION) || die "no VERSION file"
	[[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION '$v' is not major.minor.patch"
	echo "$v"
}

# ldflags prints the linker flags of every release build: stripped, with
# main.version set from VERSION.
ldflags() { echo "-s -w -X main.version=$(app_version)"; }

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

cmd_deps() {
	case "${1:-all}" in
	app) ensure_pkgs "${GIO_PKGS[@]}" ;;
	all) ensure_pkgs "${GIO_PKGS[@]}" "${TEST_PKGS[@]}" ;;
	*) die "deps: '$1' is not a set of packages: app, or nothing for all" ;;
	esac
	go mod download
}

cmd_run() {
	cmd_deps app
	go run -ldflags "-X main.version=$(app_version) -X gioui.org/app.ID=$APP_ID" ./cmd/peerchat "$@"
}

cmd_test() {
	cmd_deps
	local fuzztime="${FUZZTIME:-3s}"

	log "gofmt"
	local unformatted
	unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
	[ -z "$unformatted" ] || die "gofmt would change: $unformatted"

	log "go mod tidy"
	go mod tidy -diff >&2 || die "go.mod or go.sum is not tidy: run go mod tidy"

	log "go vet"
	go vet ./...

	log "staticcheck"
	go tool staticcheck ./...

	log "go test -race"
	go test -race -count=1 -timeout 15m ./...

	# It type-checks the whole Android build: the race detector adds nothing
	# to that and makes it eight times slower, so it runs here without.
	log "android type-check"
	go test -count=1 -run '^TestAndroidTypeCheck$' ./cmd/peerchat

	log "fuzz, $fuzztime each"
	local pkg target out
	out=$(mktemp)
	for pkg in $(go list ./...); do
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			log "  $pkg $target"
			go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1 && continue
			tail -n 30 "$out" >&2
			# A failing input is a bug in our code: stop. Without one, the fuzzing
			# engine itself failed (seen: "context deadline exceeded" when
			# -fuzztime ends while a worker is still busy with a new input): say
			# so and run the target once more.
			if ! grep -q 'Failing input written to' "$out"; then
				log "  $target: the fuzzer failed without a failing input; once more"
				go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1 && continue
				tail -n 30 "$out" >&2
			fi
			die "fuzz $pkg $target failed: rerun with go test -run '^\$' -fuzz '^${target}\$' $pkg"
		done
	done
	rm -f "$out"

	run_govulncheck

	log "cross-builds"
	GOOS=android GOARCH=arm64 CGO_ENABLED=0 go build ./core/... ./server/... ./ui/...
	cmd_windows >/dev/null
	cmd_server >/dev/null
	check_versions
	android_fails_fast
	log "all checks passed"
}

# vulndb prints the directory of a local vulnerability database for
# govulncheck, made once from $VULNDB and kept in ~/.cache/peerchat. It fails,
# with the reason on standard error, when the module or its tool cannot be had.
vulndb() {
	local cache=${XDG_CACHE_HOME:-$HOME/.cache}/peerchat db src tmp
	db="$cache/vulndb-${VULNDB##*@}"
	if [ ! -s "$db/index/db.json" ]; then
		go mod download "$VULNDB" || return 1
		src=$(go list -m -f '{{.Dir}}' "$VULNDB") || return 1
		[ -d "$src/data/osv" ] || { echo "$VULNDB has no data/osv" >&2; return 1; }
		mkdir -p "$cache"
		tmp=$(mktemp -d "$cache/vulndb.XXXXXX")
		if ! go run "${VULNDB%@*}/cmd/indexdb@${VULNDB##*@}" -vulns "$src/data/osv" -out "$tmp" >&2; then
			rm -rf "$tmp"
			return 1
		fi
		rm -rf "$db"
		mv "$tmp" "$db"
	fi
	echo "$db"
}

# run_govulncheck fails when code reachable from ours is vulnerable. When the
# database cannot be built or read, it says so in one line and goes on: that
# is a matter of the network, not of the code.
run_govulncheck() {
	log "govulncheck"
	local db errs rc=0 out
	errs=$(mktemp)
	if ! db=$(vulndb 2>"$errs"); then
		log "govulncheck skipped: no vulnerability database from $VULNDB ($(tail -n 1 "$errs"))"
		rm -f "$errs"
		return 0
	fi
	rm -f "$errs"
	out=$(go tool govulncheck -db "file://$db" ./... 2>&1) || rc=$?
	case $rc in
	0) log "govulncheck: $(printf '%s\n' "$out" | grep -m 1 'Your code is affected' || echo 'no vulnerability reachable from our code')" ;;
	3)
		printf '%s\n' "$out" >&2
		die "govulncheck: code reachable from ours is vulnerable (above): upgrade the module"
		;;
	*) log "govulncheck skipped: it could not read the database $db ($(printf '%s\n' "$out" | tail -n 1))" ;;
	esac
}

# check_versions builds every command as the packages are built and checks
# that -version prints the version in VERSION.
check_versions() {
	local v c got tmp
	v=$(app_version)
	tmp=$(mktemp -d)
	for c in "${COMMANDS[@]}"; do
		go build -trimpath -ldflags "$(ldflags)" -o "$tmp/$c" "./cmd/$c"
		got=$("$tmp/$c" -version) || { rm -rf "$tmp"; die "$c -version failed"; }
		[ "$got" = "$c $v" ] || { rm -rf "$tmp"; die "$c -version printed '$got', want '$c $v'"; }
	done
	rm -rf "$tmp"
	log "versions: every command reports $v"
}

# do_server cross-builds peerchat-server (pure Go) into dist/ and writes
# dist/SHA256SUMS.server for what it built.
do_server() {
	local v t os arch ext out outs=()
	v=$(app_version)
	mkdir -p dist
	for t in "${SERVER_TARGETS[@]}"; do
		os=${t%/*} arch=${t#*/} ext=""
		[ "$os" = windows ] && ext=.exe
		out="dist/peerchat-server-$v-$os-$arch$ext"
		log "server: $os/$arch"
		GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -trimpath -ldflags "$(ldflags)" -o "$out" ./cmd/peerchat-server
		outs+=("$out")
		echo "$out"
	done
	(cd dist && sha256sum "${outs[@]#dist/}" >SHA256SUMS.server)
}

# do_windows builds the app as a windowed .exe with gogio, which embeds the
# icon (from the 512 px PNG, at 16 to 256 px), a manifest (DPI aware, runs as
# the invoker) and the version information (product PeerChat, file and
# product version from VERSION). Pure Go: it runs on any host. gogio names
# the product after the file, so it builds PeerChat.exe in a temporary
# directory; the resource object it leaves in cmd/peerchat lives only for
# the duration of the build.
do_windows() (
	local v tmp out syso="cmd/peerchat/${APP_NAME}_windows_amd64.syso"
	v=$(app_version)
	out="dist/peerchat-$v-windows-amd64.exe"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp" "$syso"' EXIT
	mkdir -p dist
	log "windows: gogio"
	CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" \
		go tool gogio -target windows -arch amd64 -appid "$APP_ID" -version "$v.0" \
		-icon cmd/peerchat/icons/peerchat-512.png -ldflags "$(ldflags)" -o "$tmp/$APP_NAME.exe" ./cmd/peerchat
	# The resources are UTF-16 in the .exe: its version information must be there.
	LC_ALL=C grep -qaP 'V\x00S\x00_\x00V\x00E\x00R\x00S\x00I\x00O\x00N\x00_\x00I\x00N\x00F\x00O' "$tmp/$APP_NAME.exe" ||
		die "windows: gogio made an .exe without version information"
	mv "$tmp/$APP_NAME.exe" "$out"
	echo "$out"
)

# do_linux builds the app (cgo, Gio's C libraries) and lays it out under
# dist/linux/ as a prefix: bin/, share/applications/, share/icons/hicolor/.
# `cp -r dist/linux/. ~/.local/` installs it for one user; the same tree is
# packed into dist/peerchat-<version>-linux-<arch>.tar.gz.
do_linux() {
	cmd_deps app
	local v arch root=dist/linux sz
	v=$(app_version) arch=$(go env GOARCH)
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/share/applications"
	log "linux: go build"
	CGO_ENABLED=1 go build -trimpath -ldflags "$(ldflags) -X gioui.org/app.ID=$APP_ID" \
		-o "$root/bin/peerchat" ./cmd/peerchat
	for sz in 48 72 96 144 192 512; do
		install -D -m 0644 "cmd/peerchat/icons/peerchat-$sz.png" \
			"$root/share/icons/hicolor/${sz}x${sz}/apps/$APP_ID.png"
	done
	# The file is named after the app ID, which Gio also gives the window
	# (Wayland app_id, X11 WM_CLASS), so that docks show the icon.
	cat >"$root/share/applications/$APP_ID.desktop" <<-EOF
		[Desktop Entry]
		Type=Application
		Name=$APP_NAME
		GenericName=LAN Chat
		Comment=Chat with people on your local network
		Exec=peerchat
		Icon=$APP_ID
		Terminal=false
		Categories=Network;Chat;InstantMessaging;
		Keywords=chat;lan;messenger;peer;
		StartupWMClass=$APP_ID
		X-PeerChat-Version=$v
	EOF
	if command -v desktop-file-validate >/dev/null; then
		desktop-file-validate "$root/share/applications/$APP_ID.desktop"
	fi
	tar -C "$root" -czf "dist/peerchat-$v-linux-$arch.tar.gz" .
	echo "$root/bin/peerchat"
	echo "dist/peerchat-$v-linux-$arch.tar.gz"
}

# android_ndk prints the NDK directory: ANDROID_NDK_ROOT, ANDROID_NDK_HOME, or
# the newest under $ANDROID_HOME/ndk (or ndk-bundle); nothing if none.
android_ndk() {
	local sdk=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}} ndk=${ANDROID_NDK_ROOT:-${ANDROID_NDK_HOME:-}} f
	if [ -z "$ndk" ] && [ -n "$sdk" ]; then
		for f in "$sdk/ndk-bundle" $(ls -d "$sdk"/ndk/* 2>/dev/null | sort -V); do
			[ -d "$f/toolchains/llvm" ] && ndk=$f
		done
	fi
	[ -n "$ndk" ] && [ -d "$ndk/toolchains/llvm" ] && echo "$ndk"
	return 0
}

# android_sdk_check prints the one line that says what is missing to build
# the APK, or nothing when all is there. It reads the environment only.
android_sdk_check() {
	local sdk=${ANDROID_HOME:-${ANDROID_SDK_ROOT:-}}
	local get="install the Android SDK command-line tools, then: sdkmanager 'platforms;android-34' 'build-tools;34.0.0' 'ndk;26.3.11579264'"
	if [ -z "$sdk" ]; then
		echo "android: ANDROID_HOME is not set: $get, and export ANDROID_HOME=<sdk dir> (and ANDROID_NDK_ROOT=<sdk dir>/ndk/<version> if the NDK is elsewhere)"
		return
	fi
	[ -d "$sdk" ] || { echo "android: ANDROID_HOME=$sdk is not a directory: $get"; return; }
	compgen -G "$sdk/platforms/android-*/android.jar" >/dev/null ||
		{ echo "android: no SDK platform in $sdk/platforms: sdkmanager 'platforms;android-34'"; return; }
	compgen -G "$sdk/build-tools/*/apksigner" >/dev/null ||
		{ echo "android: no build-tools in $sdk/build-tools: sdkmanager 'build-tools;34.0.0'"; return; }
	[ -n "$(android_ndk)" ] ||
		{ echo "android: no NDK in $sdk/ndk and ANDROID_NDK_ROOT not set: sdkmanager 'ndk;26.3.11579264' (r26 or newer)"; return; }
	command -v javac >/dev/null && command -v keytool >/dev/null ||
		{ echo "android: javac and keytool not found: install a JDK 17 (Debian: apt-get install openjdk-17-jdk-headless)"; return; }
}

# do_android builds a signed APK with gogio (the version pinned in go.mod)
# into dist/. Without the SDK, the NDK or a JDK it stops at once with one
# line saying what to install.
# Signing: PEERCHAT_SIGNKEY (a keystore) and PEERCHAT_SIGNPASS; without them
# the APK is signed with the debug key ~/.android/debug.keystore (made with
# keytool if missing), which is fine for sideloading and not for a store.
# ANDROID_ARCHS (default arm64,arm,amd64) selects the native code built.
do_android() {
	local missing
	missing=$(android_sdk_check)
	[ -z "$missing" ] || die "$missing"

	local sdk=${ANDROID_HOME:-$ANDROID_SDK_ROOT}
	local v code major minor patch key pass out
	v=$(app_version)
	IFS=. read -r major minor patch <<<"$v"
	code=$((major * 10000 + minor * 100 + patch)) # versionCode: increases with every release
	key=${PEERCHAT_SIGNKEY:-} pass=${PEERCHAT_SIGNPASS:-}
	if [ -z "$key" ]; then
		key="$HOME/.android/debug.keystore" pass=android
		if [ ! -f "$key" ]; then
			log "android: making the debug key $key"
			mkdir -p "$(dirname "$key")"
			keytool -genkeypair -keystore "$key" -storepass android -keypass android \
				-alias androiddebugkey -keyalg RSA -keysize 2048 -validity 10000 \
				-dname "CN=Android Debug,O=Android,C=US" -noprompt >/dev/null 2>&1 ||
				die "android: keytool could not make $key"
		fi
		log "android: signing with the debug key (set PEERCHAT_SIGNKEY and PEERCHAT_SIGNPASS for a release)"
	fi
	[ -n "$pass" ] || die "android: PEERCHAT_SIGNKEY is set but PEERCHAT_SIGNPASS is not"
	mkdir -p dist
	out="dist/peerchat-$v.apk"
	rm -f "$out"
	log "android: gogio ($v, versionCode $code)"
	ANDROID_HOME=$sdk ANDROID_SDK_ROOT=$sdk ANDROID_NDK_ROOT=$(android_ndk) GOFLAGS="${GOFLAGS:-} -trimpath" \
		go tool gogio -target android -arch "${ANDROID_ARCHS:-arm64,arm,amd64}" -appid "$APP_ID" \
		-name "$APP_NAME" -version "$v.$code" -icon cmd/peerchat/appicon.png -ldflags "$(ldflags)" \
		-signkey "$key" -signpass "$pass" -o "$out" ./cmd/peerchat
	# Never report success without a real, signed APK; never leave a bad one.
	local files
	[ -s "$out" ] || die "android: gogio made no $out"
	files=$(jar tf "$out" 2>/dev/null) || { rm -f "$out"; die "android: $out is not an APK (zip)"; }
	grep -qx 'AndroidManifest.xml' <<<"$files" || { rm -f "$out"; die "android: $out has no AndroidManifest.xml"; }
	grep -q '^lib/.*/libgio\.so$' <<<"$files" || { rm -f "$out"; die "android: $out has no native code"; }
	"$(ls -d "$sdk"/build-tools/* | sort -V | tail -1)/apksigner" verify "$out" ||
		{ rm -f "$out"; die "android: $out does not verify"; }
	echo "$out"
}

cmd_server() { do_server "$@"; }
cmd_windows() { do_windows "$@"; }
cmd_linux() { do_linux "$@"; }
cmd_android() { do_android "$@"; }

# android_fails_fast checks that `./build.sh android` without an SDK stops at
# once with its one-line message.
android_fails_fast() {
	[ -n "${ANDROID_HOME:-}${ANDROID_SDK_ROOT:-}" ] && return 0
	local out
	if out=$(timeout 60 ./build.sh android 2>&1); then die "build.sh android succeeded without an SDK"; fi
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || die "build.sh android without an SDK printed more than one line: $out"
}

case "${1:-}" in
deps | run | test | server | windows | linux | android)
	c=$1
	shift
	"cmd_$c" "$@"
	;;
*)
	sed -n '2,/^set -/{/^#/s/^# \{0,1\}//p}' "$0"
	exit 2
	;;
esac
