; The Windows installer of Remote4D (NSIS 3, built on Linux by scripts/windows/package).
;
;   remote4d-setup.exe            per user: %LOCALAPPDATA%\Programs\Remote4D, no administrator
;   remote4d-setup.exe /ALLUSERS  per machine: %ProgramFiles%\Remote4D (asks to elevate)
;   /S                            silent; /D=C:\path (last) another folder
;
; Installs remote4d.exe (the desktop app and the command line) and remote4d.com (its console
; twin: `remote4d` typed in cmd or PowerShell waits and returns the exit code), a Start-menu
; entry, the .4DLink file association (a double-click opens the shortcut, as in 4D), the folder
; on PATH, and an uninstaller listed in Settings > Apps. Uninstalling removes all of that and
; keeps the user's data (%LOCALAPPDATA%\Remote4D, %APPDATA%\Remote4D: caches, Recent).

; A 64-bit installer: Remote4D is a 64-bit program (and runs under a 64-bit-only Wine).
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma

!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "WordFunc.nsh"
!include "WinMessages.nsh"

!ifndef SOURCE
  !error "makensis -DSOURCE=<folder with remote4d.exe, remote4d.com, README.md, LICENSE>"
!endif
!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef OUTFILE
  !define OUTFILE "remote4d-setup.exe"
!endif

!define APP "Remote4D"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Remote4D"
!define PROGID "Remote4D.4DLink"

!ifdef ICON
  Icon "${ICON}"
  UninstallIcon "${ICON}"
!endif

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
RequestExecutionLevel user
ShowInstDetails show
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT OR Apache-2.0"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Var AllUsers

!macro ChooseScope
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/ALLUSERS" $R1
  ${IfNot} ${Errors}
    StrCpy $AllUsers 1
  ${EndIf}
!macroend

Function .onInit
  StrCpy $AllUsers 0
  !insertmacro ChooseScope
  ${If} $AllUsers == 1
    ; /D= still wins: NSIS sets $INSTDIR from it before .onInit only when given.
    ${If} $INSTDIR == "$LOCALAPPDATA\Programs\${APP}"
      StrCpy $INSTDIR "$PROGRAMFILES64\${APP}"
    ${EndIf}
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
FunctionEnd

Section "Remote4D"
  SetOutPath "$INSTDIR"
  File "${SOURCE}\remote4d.exe"
  File "${SOURCE}\remote4d.com"
  File "${SOURCE}\README.md"
  File "${SOURCE}\LICENSE"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  ; Remember the scope for the uninstaller.
  FileOpen $0 "$INSTDIR\install-scope.txt" w
  FileWrite $0 "$AllUsers"
  FileClose $0

  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\remote4d.exe" "" "$INSTDIR\remote4d.exe" 0

  ; .4DLink: 4D's shortcut files (any case; Windows matches extensions case-insensitively).
  WriteRegStr SHCTX "Software\Classes\.4DLink" "" "${PROGID}"
  WriteRegStr SHCTX "Software\Classes\.4DLink" "Content Type" "application/x-4dlink"
  ; Listed in "Open with" (since Windows 8 the user confirms the default application once).
  WriteRegStr SHCTX "Software\Classes\.4DLink\OpenWithProgids" "${PROGID}" ""
  WriteRegStr SHCTX "Software\Classes\${PROGID}" "" "4D remote project shortcut"
  WriteRegStr SHCTX "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\remote4d.exe,0"
  WriteRegStr SHCTX "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\remote4d.exe" "%1"'
  WriteRegStr SHCTX "Software\Microsoft\Windows\CurrentVersion\App Paths\remote4d.exe" "" "$INSTDIR\remote4d.exe"

  ; On PATH, so `remote4d` works in cmd and PowerShell (new terminals).
  ${If} $AllUsers == 1
    ReadRegStr $0 HKLM "SYSTEM\CurrentControlSet\Control\Session Manager\Environment" "Path"
  ${Else}
    ReadRegStr $0 HKCU "Environment" "Path"
  ${EndIf}
  ${WordFind} "$0" ";" "E/$INSTDIR" $1
  ${If} ${Errors}
    ${If} $0 == ""
      StrCpy $0 "$INSTDIR"
    ${Else}
      StrCpy $0 "$0;$INSTDIR"
    ${EndIf}
    ${If} $AllUsers == 1
      WriteRegExpandStr HKLM "SYSTEM\CurrentControlSet\Control\Session Manager\Environment" "Path" "$0"
    ${Else}
      WriteRegExpandStr HKCU "Environment" "Path" "$0"
    ${EndIf}
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500
  ${EndIf}

  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayName" "${APP}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "Publisher" "Remote4D developers"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\remote4d.exe"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr SHCTX "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD SHCTX "${UNINSTALL_KEY}" "EstimatedSize" "$0"
  ; Explorer refreshes its icons and associations.
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd

Function un.onInit
  StrCpy $AllUsers 0
  FileOpen $0 "$INSTDIR\install-scope.txt" r
  ${IfNot} ${Errors}
    FileRead $0 $AllUsers
    FileClose $0
  ${EndIf}
  ${If} $AllUsers == 1
    SetShellVarContext all
  ${Else}
    SetShellVarContext current
  ${EndIf}
FunctionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${APP}.lnk"
  ; The association only when it is still ours.
  ReadRegStr $0 SHCTX "Software\Classes\.4DLink" ""
  ${If} $0 == "${PROGID}"
    DeleteRegKey SHCTX "Software\Classes\.4DLink"
  ${EndIf}
  DeleteRegKey SHCTX "Software\Classes\${PROGID}"
  DeleteRegKey SHCTX "Software\Microsoft\Windows\CurrentVersion\App Paths\remote4d.exe"
  ${If} $AllUsers == 1
    ReadRegStr $0 HKLM "SYSTEM\CurrentControlSet\Control\Session Manager\Environment" "Path"
  ${Else}
    ReadRegStr $0 HKCU "Environment" "Path"
  ${EndIf}
  ${un.WordReplace} "$0" ";$INSTDIR" "" "+" $0
  ${un.WordReplace} "$0" "$INSTDIR" "" "+" $0
  ${If} $AllUsers == 1
    WriteRegExpandStr HKLM "SYSTEM\CurrentControlSet\Control\Session Manager\Environment" "Path" "$0"
  ${ElseIf} $0 == ""
    DeleteRegValue HKCU "Environment" "Path"
  ${Else}
    WriteRegExpandStr HKCU "Environment" "Path" "$0"
  ${EndIf}
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500
  DeleteRegKey SHCTX "${UNINSTALL_KEY}"
  Delete "$INSTDIR\remote4d.exe"
  Delete "$INSTDIR\remote4d.com"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\LICENSE"
  Delete "$INSTDIR\install-scope.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd
