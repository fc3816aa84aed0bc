// KlarnaSession.StatusChanged and WaitAsync against the simulator, and the status texts in the
// cashier's and the customer's language.

using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using KlarnaPos;

namespace KlarnaPosTests
{
    /// <summary>A UI thread's SynchronizationContext in miniature: Post queues the call, and the
    /// owning thread runs the queue in Pump, as a WinForms message loop would.</summary>
    internal sealed class LoopContext : SynchronizationContext
    {
        private readonly BlockingCollection<KeyValuePair<SendOrPostCallback, object>> queue =
            new BlockingCollection<KeyValuePair<SendOrPostCallback, object>>();

        public override void Post(SendOrPostCallback d, object state)
        {
            queue.Add(new KeyValuePair<SendOrPostCallback, object>(d, state));
        }

        /// <summary>Runs posted calls on this thread until <paramref name="done"/> holds (at most
        /// 20 s).</summary>
        internal void Pump(Func<bool> done)
        {
            DateTime giveUp = DateTime.UtcNow.AddSeconds(20);
            while (!done() && DateTime.UtcNow < giveUp)
            {
                KeyValuePair<SendOrPostCallback, object> item;
                if (queue.TryTake(out item, 100))
                    item.Key(item.Value);
            }
        }
    }

    internal static class EventTests
    {
        internal static void StatusChangedInOrder(Simulator sim, KlarnaClient client, string order)
        {
            using (KlarnaSession session = client.CreateSession(order))
            {
                Check.Equal(SessionStatus.Distributed, session.Poll(), "first poll");
                var seen = new List<SessionStatus>();
                var threads = new HashSet<int>();
                var changed = new object();
                EventHandler<SessionStatusChangedEventArgs> handler = (sender, e) =>
                {
                    lock (changed)
                    {
                        seen.Add(e.Status);
                        threads.Add(Thread.CurrentThread.ManagedThreadId);
                        Monitor.PulseAll(changed);
                    }
                };
                Func<SessionStatus, bool> waitFor = status =>
                {
                    lock (changed)
                    {
                        DateTime giveUp = DateTime.UtcNow.AddSeconds(20);
                        while (!seen.Contains(status) && DateTime.UtcNow < giveUp)
                            Monitor.Wait(changed, 100);
                        return seen.Contains(status);
                    }
                };
                session.StatusChanged += handler;
                Check.True(waitFor(SessionStatus.Distributed), "the current status first");
                sim.Customer(session.Id, "scan");
                Check.True(waitFor(SessionStatus.Accessed), "Accessed is raised");
                sim.Customer(session.Id, "approve");
                Check.True(waitFor(SessionStatus.Completed), "Completed is raised");
                session.Poll();
                session.StatusChanged -= handler;
                lock (changed)
                {
                    Check.Equal("Distributed,Accessed,Completed", string.Join(",", seen), "each status once, in order");
                    Check.True(!threads.Contains(Thread.CurrentThread.ManagedThreadId),
                        "without a SynchronizationContext, handlers run on the library's thread");
                }
            }
        }

        internal static void StatusChangedOnTheSubscribersContext(Simulator sim, KlarnaClient client, string order)
        {
            SynchronizationContext previous = SynchronizationContext.Current;
            var ui = new LoopContext();
            SynchronizationContext.SetSynchronizationContext(ui);
            try
            {
                using (KlarnaSession session = client.CreateSession(order))
                {
                    session.Poll();
                    var seen = new List<SessionStatus>();
                    var threads = new HashSet<int>();
                    session.StatusChanged += (sender, e) =>
                    {
                        seen.Add(e.Status);
                        threads.Add(Thread.CurrentThread.ManagedThreadId);
                        if (e.Status == SessionStatus.Distributed)
                            sim.Customer(session.Id, "approve");
                    };
                    ui.Pump(() => seen.Contains(SessionStatus.Completed));
                    Check.Equal("Distributed,Completed", string.Join(",", seen), "raised in order");
                    Check.Equal(1, threads.Count, "on one thread");
                    Check.True(threads.Contains(Thread.CurrentThread.ManagedThreadId), "the subscribing (UI) thread");
                }
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
            }
        }

        internal static void WaitAsyncCompletes(Simulator sim, KlarnaClient client, string order)
        {
            using (KlarnaSession session = client.CreateSession(order))
            {
                session.Poll();
                Task<SessionStatus> waiting = session.WaitAsync(TimeSpan.FromSeconds(20), CancellationToken.None);
                Check.True(!waiting.IsCompleted, "not complete before the customer approves");
                sim.Customer(session.Id, "approve");
                Check.Equal(SessionStatus.Completed, waiting.Result, "the final status");
                Check.True(session.OrderId != null, "the order id is known");
                Check.Equal(SessionStatus.Completed, session.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).Result,
                    "a finished session completes at once");
            }
        }

        internal static void WaitAsyncCancellationCancelsTheSession(Simulator sim, KlarnaClient client, string order)
        {
            using (KlarnaSession session = client.CreateSession(order))
            using (var cts = new CancellationTokenSource())
            {
                session.Poll();
                var raised = new List<SessionStatus>();
                session.StatusChanged += (sender, e) => { lock (raised) raised.Add(e.Status); };
                Task<SessionStatus> waiting = session.WaitAsync(TimeSpan.FromSeconds(20), cts.Token);
                cts.Cancel();
                try
                {
                    waiting.Wait();
                    throw new Exception("expected the task to be cancelled, got " + waiting.Result);
                }
                catch (AggregateException e)
                {
                    Check.True(e.InnerException is TaskCanceledException, "the task is cancelled: " + e.InnerException);
                }
                Check.True(waiting.IsCanceled, "IsCanceled");
                Check.Equal(SessionStatus.Canceled, session.Status, "the payment is cancelled");
                Check.Equal("CANCELED", (string)sim.Session(session.Id)["status"], "at Klarna too");
                lock (raised)
                    Check.Equal(1, raised.FindAll(s => s == SessionStatus.Canceled).Count, "StatusChanged raised Canceled once");
            }
        }

        internal static void WaitAsyncTimesOut(Simulator sim, KlarnaClient client, string order)
        {
            using (KlarnaSession session = client.CreateSession(order))
            {
                session.Poll();
                Task<SessionStatus> waiting = session.WaitAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None);
                try
                {
                    waiting.Wait();
                    throw new Exception("expected a timeout, got " + waiting.Result);
                }
                catch (AggregateException e)
                {
                    var timeout = e.InnerException as KlarnaTimeoutException;
                    Check.True(timeout != null, "KlarnaTimeoutException: " + e.InnerException);
                    Check.Equal((SessionStatus?)SessionStatus.Distributed, timeout.LastStatus, "the last known status");
                }
                Check.Equal(SessionStatus.Distributed, session.Status, "a timeout does not cancel");
            }
        }

        internal static void Texts()
        {
            Check.Equal("Betalning pågår", SessionStatus.Accessed.DisplayText("sv"), "Swedish");
            Check.Equal("Betalning pågår", SessionStatus.Accessed.DisplayText("SV-se"), "case-insensitive");
            Check.Equal("Payment in progress", SessionStatus.Accessed.DisplayText("ja-JP"), "English fallback");
            Check.Equal(SessionStatus.Accessed.DisplayText(), SessionStatus.Accessed.DisplayText(null), "null is English");
            Check.Equal("Zahlung erfolgreich. Vielen Dank!", SessionStatus.Completed.CustomerText("de-AT"), "German, Austria");
            Check.Equal("The payment was cancelled", SessionStatus.Canceled.CustomerText("en-GB"), "British spelling");
            Check.Equal("Confirm in the Klarna app", SessionStatus.Accessed.CustomerText(), "English customer text");
            foreach (string language in new[] { "sv", "nb", "da", "fi", "de", "nl", "fr", "es", "it", "pl", "cs", "pt", "en" })
                foreach (SessionStatus status in Enum.GetValues(typeof(SessionStatus)))
                {
                    Check.True(!string.IsNullOrEmpty(status.DisplayText(language)), language + " " + status);
                    Check.True(!string.IsNullOrEmpty(status.CustomerText(language)), language + " " + status);
                }
        }
    }
}
