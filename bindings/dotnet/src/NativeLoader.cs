// Windows: loads the klarna_pos.dll that matches the process (32- or 64-bit) before the first
// call, so that one AnyCPU application folder serves x86 and x64 tills (and Prefer32Bit builds,
// which run as 32-bit processes on 64-bit Windows). The DLL found first in
//   runtimes\win-x64\native\ or runtimes\win-x86\native\ (NuGet's layout), then x64\ or x86\,
// under the folder of KlarnaPos.dll and then the application's base folder, is loaded by its
// full path; [DllImport("klarna_pos")] then binds to that loaded module. When none is there,
// the runtime's own search applies (klarna_pos.dll next to the application, or PATH). Elsewhere
// than on Windows nothing is done.

using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace KlarnaPos
{
    internal static class NativeLoader
    {
        private const string FileName = "klarna_pos.dll";

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern IntPtr LoadLibraryW(string path);

        /// <summary>The runtime identifier of this process's Windows DLL folder.</summary>
        internal static string RuntimeIdentifier(bool is64BitProcess)
        {
            return is64BitProcess ? "win-x64" : "win-x86";
        }

        /// <summary>Where a DLL for a process of this bitness is looked for, in order, under the
        /// given folders.</summary>
        internal static List<string> Candidates(IEnumerable<string> folders, bool is64BitProcess)
        {
            string rid = RuntimeIdentifier(is64BitProcess);
            string arch = is64BitProcess ? "x64" : "x86";
            var paths = new List<string>();
            foreach (string folder in folders)
            {
                if (string.IsNullOrEmpty(folder))
                    continue;
                paths.Add(Path.Combine(Path.Combine(Path.Combine(Path.Combine(folder, "runtimes"), rid), "native"), FileName));
                paths.Add(Path.Combine(Path.Combine(folder, arch), FileName));
            }
            return paths;
        }

        private static readonly object LoadLock = new object();
        private static bool attempted;

        /// <summary>On Windows, loads the first candidate DLL that exists (once per process);
        /// the path loaded, or null when none was there or not on Windows.</summary>
        internal static string LoadForProcess()
        {
            lock (LoadLock)
            {
                if (attempted || Environment.OSVersion.Platform != PlatformID.Win32NT)
                    return null;
                attempted = true;
                var folders = new List<string>();
                try
                {
                    folders.Add(Path.GetDirectoryName(typeof(NativeLoader).Assembly.Location));
                }
                catch (Exception)
                {
                    // An assembly loaded from bytes has no location: the base folder remains.
                }
                folders.Add(AppDomain.CurrentDomain.BaseDirectory);
                foreach (string path in Candidates(folders, IntPtr.Size == 8))
                {
                    if (File.Exists(path) && LoadLibraryW(path) != IntPtr.Zero)
                        return path;
                }
                return null;
            }
        }
    }
}
