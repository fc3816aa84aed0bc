// SafeHandle subclasses own the library's handles: the runtime frees them exactly once, also
// when a program forgets Dispose, and never while a call that uses them is still running (a
// Dispose during another thread's Wait is delayed until the Wait returns).

using System;
using System.Runtime.InteropServices;

namespace KlarnaPos
{
    /// <summary>Owns a kpos_client.</summary>
    internal sealed class ClientHandle : SafeHandle
    {
        private ClientHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.kpos_client_free(handle);
            return true;
        }
    }

    /// <summary>Owns a kpos_session.</summary>
    internal sealed class SessionHandle : SafeHandle
    {
        private SessionHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.kpos_session_free(handle);
            return true;
        }
    }
}
