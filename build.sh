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
TEST_PKGS=(libegl-mesa0 libgl1-mesa-dri xvfb xdotool imagemagick)

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
	cmd_windows >/dev/null
	cmd_server >/dev/null
	android_fails_fast
	log "all checks passed"
}

# The version and app id live in one place: cmd/peerchat/version.go.
app_version() { sed -n 's/^const Version = "\(.*\)"/\1/p' cmd/peerchat/version.go 2>/dev/null || echo dev; }

APP_ID=org.peerchat.app # the same as AppID in cmd/peerchat/version.go
APP_NAME=PeerChat
# go-winres makes the Windows resource object (icon, manifest, version info):
# gogio's own Windows target is not served by the module proxy.
GOWINRES=github.com/tc-hib/go-winres@v0.3.3
SERVER_TARGETS=(linux/amd64 linux/arm64 windows/amd64 darwin/arm64)

# app_id reads AppID from cmd/peerchat/version.go, with APP_ID as fallback.
app_id() {
	local id
	id=$(sed -n 's/^const AppID = "\(.*\)"/\1/p' cmd/peerchat/version.go 2>/dev/null)
	echo "${id:-$APP_ID}"
}

# do_server cross-builds peerchat-server (pure Go) into dist/ and writes
# dist/SHA256SUMS for what it built.
do_server() {
	local v t os arch ext out outs=()
	v=$(app_version)
	mkdir -p dist
	for t in "${SERVER_TARGETS[@]}"; do
		os=${t%/*} arch=${t#*/} ext=""
		[ "$os" = windows ] && ext=.exe
		out="dist/peerchat-server-$v-$os-$arch$ext"
		log "server: $os/$arch"
		GOOS=$os GOARCH=$arch CGO_ENABLED=0 go build -trimpath \
			-ldflags "-s -w -X main.version=$v" -o "$out" ./cmd/peerchat-server
		outs+=("$out")
		echo "$out"
	done
	(cd dist && sha256sum "${outs[@]#dist/}" >SHA256SUMS.server)
}

# do_windows builds the app as a windowed .exe with PeerChat's icon, a
# per-monitor-DPI-aware manifest and version information. Pure Go: it runs on
# any host. The resource object only lives for the duration of the build.
do_windows() (
	local v syso=cmd/peerchat/rsrc_windows_amd64.syso out
	v=$(app_version)
	out="dist/peerchat-$v-windows-amd64.exe"
	mkdir -p dist
	trap 'rm -f "$syso"' EXIT
	log "windows: resources with $GOWINRES"
	(cd cmd/peerchat && GOFLAGS= go run "$GOWINRES" simply --arch amd64 --out rsrc \
		--manifest gui --icon icons/peerchat-512.png \
		--product-name "$APP_NAME" --file-description "$APP_NAME, chat on your local network" \
		--product-version "$v.0" --file-version "$v.0" --original-filename peerchat.exe)
	[ -f "$syso" ] || die "windows: go-winres made no $syso"
	log "windows: go build"
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build -trimpath \
		-ldflags "-s -w -H=windowsgui -X gioui.org/app.ID=$(app_id)" -o "$out" ./cmd/peerchat
	echo "$out"
)

# do_linux builds the app (cgo, Gio's C libraries) and lays it out under
# dist/linux/ as a prefix: bin/, share/applications/, share/icons/hicolor/.
# `cp -r dist/linux/. ~/.local/` installs it for one user; the same tree is
# packed into dist/peerchat-<version>-linux-<arch>.tar.gz.
do_linux() {
	ensure_pkgs "${GIO_PKGS[@]}"
	local v id arch root=dist/linux sz
	v=$(app_version) id=$(app_id) arch=$(go env GOARCH)
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/share/applications"
	log "linux: go build"
	CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X gioui.org/app.ID=$id" \
		-o "$root/bin/peerchat" ./cmd/peerchat
	for sz in 48 72 96 144 192 512; do
		install -D -m 0644 "cmd/peerchat/icons/peerchat-$sz.png" \
			"$root/share/icons/hicolor/${sz}x${sz}/apps/$id.png"
	done
	# The file is named after the app ID, which Gio also gives the window
	# (Wayland app_id, X11 WM_CLASS), so that docks show the icon.
	cat >"$root/share/applications/$id.desktop" <<-EOF
		[Desktop Entry]
		Type=Application
		Name=$APP_NAME
		GenericName=LAN Chat
		Comment=Chat with people on your local network
		Exec=peerchat
		Icon=$id
		Terminal=false
		Categories=Network;Chat;InstantMessaging;
		Keywords=chat;lan;messenger;peer;
		StartupWMClass=$id
		X-PeerChat-Version=$v
	EOF
	if command -v desktop-file-validate >/dev/null; then
		desktop-file-validate "$root/share/applications/$id.desktop"
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
	[ -x "${GOGIO:-$(command -v gogio || true)}" ] ||
		{ echo "android: gogio not found: go install gioui.org/cmd/gogio@latest (or set GOGIO=<path to gogio>)"; return; }
}

# do_android builds a signed APK with gogio into dist/. Without the SDK, the
# NDK, a JDK or gogio it stops at once with one line saying what to install.
# Signing: PEERCHAT_SIGNKEY (a keystore) and PEERCHAT_SIGNPASS; without them
# the APK is signed with the debug key ~/.android/debug.keystore (made with
# keytool if missing), which is fine for sideloading and not for a store.
# ANDROID_ARCHS (default arm64,arm,amd64) selects the native code built.
do_android() {
	local missing
	missing=$(android_sdk_check)
	[ -z "$missing" ] || die "$missing"

	local sdk=${ANDROID_HOME:-$ANDROID_SDK_ROOT} gogio=${GOGIO:-$(command -v gogio)}
	local v code major minor patch key pass out id
	v=$(app_version) id=$(app_id)
	IFS=. read -r major minor patch <<<"$v"
	[[ "$major.$minor.$patch" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
		die "android: version '$v' in cmd/peerchat/version.go is not major.minor.patch"
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
	ANDROID_HOME=$sdk ANDROID_SDK_ROOT=$sdk ANDROID_NDK_ROOT=$(android_ndk) "$gogio" -target android \
		-arch "${ANDROID_ARCHS:-arm64,arm,amd64}" -appid "$id" -name "$APP_NAME" \
		-version "$v.$code" -icon cmd/peerchat/appicon.png \
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
