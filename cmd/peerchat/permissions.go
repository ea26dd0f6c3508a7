package main

// Android permissions. gogio declares the permissions of the Gio packages a
// program imports; INTERNET comes with package net. ACCESS_NETWORK_STATE lets
// the app see Wi-Fi come and go.
import _ "gioui.org/app/permission/networkstate"
