package main

// Version is the app's version, the one place build.sh reads it from
// (versionName of the Android package, file version of the Windows .exe).
const Version = "0.1.0"

// AppID is the app's identifier: the Android package name, and the
// reverse-DNS name of the Linux .desktop file and of the notifications.
const AppID = "org.peerchat.app"
