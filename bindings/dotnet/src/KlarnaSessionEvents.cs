// Status events of a session (kpos_session_watch): the StatusChanged event and WaitAsync.

using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace KlarnaPos
{
    /// <summary>Data of <see cref="KlarnaSession.StatusChanged"/>.</summary>
    public sealed class SessionStatusChangedEventArgs : EventArgs
    {
        internal SessionStatusChangedEventArgs(SessionStatus status)
        {
            Status = status;
        }

        /// <summary>The session's new status.</summary>
        public SessionStatus Status { get; private set; }

        /// <summary>True for the final status (Completed, Canceled, Failed, Expired): no event
        /// follows.</summary>
        public bool IsFinal
        {
            get { return Status.IsTerminal(); }
        }
    }

    public sealed partial class KlarnaSession
    {
        private sealed class Subscriber
        {
            internal readonly EventHandler<SessionStatusChangedEventArgs> Handler;
            internal readonly SynchronizationContext Context;

            internal Subscriber(EventHandler<SessionStatusChangedEventArgs> handler, SynchronizationContext context)
            {
                Handler = handler;
                Context = context;
            }
        }

        private readonly object watchLock = new object();
        private readonly List<Subscriber> subscribers = new List<Subscriber>();
        private readonly List<Action<SessionStatus>> waiters = new List<Action<SessionStatus>>();
        // The native listener, made once and kept for the session's lifetime.
        private Native.StatusListener nativeListener;
        // Keeps the session (and its listener) alive while the library may call it.
        private GCHandle keepAlive;
        private bool watching;

        /// <summary>Raised when the session's status changes, in order, the last time with the final
        /// status (<see cref="SessionStatusChangedEventArgs.IsFinal"/>): the library follows the
        /// session in the background (kpos_session_watch). The first subscriber hears the current
        /// status at once; later subscribers hear changes from then on. Each handler runs on the
        /// SynchronizationContext current when it subscribed (a WinForms or WPF handler subscribed on
        /// the UI thread runs on the UI thread), or, without one, on the library's listener thread
        /// (return quickly; an exception it throws is traced and ignored). Cancel ends the events
        /// after the final one; so does Dispose (without one); unsubscribing the last handler stops
        /// following the session.</summary>
        public event EventHandler<SessionStatusChangedEventArgs> StatusChanged
        {
            add
            {
                if (value == null)
                    return;
                bool start;
                lock (watchLock)
                {
                    subscribers.Add(new Subscriber(value, SynchronizationContext.Current));
                    start = !watching;
                }
                if (start)
                    StartWatching();
            }
            remove
            {
                bool idle;
                lock (watchLock)
                {
                    int i = subscribers.FindLastIndex(s => s.Handler == value);
                    if (i < 0)
                        return;
                    subscribers.RemoveAt(i);
                    idle = subscribers.Count == 0 && waiters.Count == 0;
                }
                if (idle)
                    StopWatching();
            }
        }

        /// <summary>Completes with the session's final status (Completed, Canceled, Failed or
        /// Expired) without blocking a thread. Cancelling <paramref name="token"/> cancels the
        /// payment at Klarna: the task is then cancelled, unless the payment completed first, which
        /// wins (the task completes with Completed), or the cancel failed (the task fails with its
        /// KlarnaException). After <paramref name="timeout"/> (Timeout.InfiniteTimeSpan: none) the
        /// task fails with KlarnaTimeoutException (LastStatus is the last known status; the payment
        /// is not cancelled). StatusChanged handlers keep being raised meanwhile.</summary>
        public Task<SessionStatus> WaitAsync(TimeSpan timeout, CancellationToken token)
        {
            if (timeout < TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan)
                throw new ArgumentOutOfRangeException("timeout", "the timeout must not be negative");
            if (handle.IsClosed)
                throw new ObjectDisposedException("KlarnaSession");
            var done = new TaskCompletionSource<SessionStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
            Action<SessionStatus> waiter = status =>
            {
                if (!status.IsTerminal())
                    return;
                if (status == SessionStatus.Canceled && token.IsCancellationRequested)
                    done.TrySetCanceled(token);
                else
                    done.TrySetResult(status);
            };
            bool start;
            lock (watchLock)
            {
                waiters.Add(waiter);
                start = !watching;
            }
            var timer = new Timer(_ =>
            {
                var e = new KlarnaTimeoutException("the session did not reach a final status within " + timeout);
                try
                {
                    e.LastStatus = Status;
                }
                catch (ObjectDisposedException)
                {
                }
                done.TrySetException(e);
            }, null, timeout, System.Threading.Timeout.InfiniteTimeSpan);
            CancellationTokenRegistration registration = token.Register(() => Task.Run(() =>
            {
                try
                {
                    Cancel();
                }
                catch (KlarnaConflictException)
                {
                    // Completed first: the final status reports it.
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            }));
            done.Task.ContinueWith(_ =>
            {
                registration.Dispose();
                timer.Dispose();
                bool idle;
                lock (watchLock)
                {
                    waiters.Remove(waiter);
                    idle = waiters.Count == 0 && subscribers.Count == 0;
                }
                if (idle && !handle.IsClosed)
                    StopWatching();
            }, TaskContinuationOptions.ExecuteSynchronously);
            try
            {
                if (start)
                {
                    // The first call reports the current status, a final one included.
                    StartWatching();
                }
                else
                {
                    SessionStatus now = Status;
                    if (now.IsTerminal())
                        waiter(now);
                }
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
            return done.Task;
        }

        private void OnNativeStatus(IntPtr userdata, IntPtr session, uint value)
        {
            SessionStatus status = SessionStatusExtensions.FromNative(value);
            Subscriber[] handlers;
            Action<SessionStatus>[] waiting;
            lock (watchLock)
            {
                handlers = subscribers.ToArray();
                waiting = waiters.ToArray();
                if (status.IsTerminal())
                    watching = false;
            }
            var args = new SessionStatusChangedEventArgs(status);
            foreach (Subscriber s in handlers)
            {
                if (s.Context != null)
                {
                    EventHandler<SessionStatusChangedEventArgs> handler = s.Handler;
                    s.Context.Post(_ => handler(this, args), null);
                    continue;
                }
                try
                {
                    s.Handler(this, args);
                }
                catch (Exception e)
                {
                    Trace.TraceError("KlarnaSession.StatusChanged handler failed: " + e);
                }
            }
            foreach (Action<SessionStatus> w in waiting)
                w(status);
            if (status.IsTerminal())
                ReleaseKeepAlive();
        }

        private void StartWatching()
        {
            lock (watchLock)
            {
                if (nativeListener == null)
                    nativeListener = OnNativeStatus;
                if (!keepAlive.IsAllocated)
                    keepAlive = GCHandle.Alloc(this);
                watching = true;
            }
            uint code = Native.kpos_session_watch(handle, nativeListener, IntPtr.Zero);
            if (code != 0)
            {
                lock (watchLock)
                    watching = false;
                ReleaseKeepAlive();
                KlarnaException.Check(code);
            }
        }

        private void StopWatching()
        {
            lock (watchLock)
                watching = false;
            try
            {
                KlarnaException.Check(Native.kpos_session_watch(handle, null, IntPtr.Zero));
            }
            catch (ObjectDisposedException)
            {
                // Disposed meanwhile: freeing the session ended the watch.
            }
            ReleaseKeepAlive();
        }

        /// <summary>A cancel ended the native watch (after its final call, or without one when the
        /// cancel failed).</summary>
        private void AfterCancel()
        {
            lock (watchLock)
                watching = false;
            ReleaseKeepAlive();
        }

        /// <summary>After Dispose: the library no longer calls the session.</summary>
        private void EndWatching()
        {
            lock (watchLock)
            {
                watching = false;
                subscribers.Clear();
            }
            ReleaseKeepAlive();
        }

        private void ReleaseKeepAlive()
        {
            lock (watchLock)
            {
                if (keepAlive.IsAllocated && !watching)
                    keepAlive.Free();
            }
        }
    }
}
