namespace CachifyNet.Internal;

/// <summary>Never-die refreshes: run in the background under the key's lock, readers keep the old value meanwhile.</summary>
internal abstract partial class Keyspace<TKey, TValue>
{
    // ---------------------------------------------------------------- never-die refresh

    /// <summary>
    /// Refreshes a never-die entry in the background under the key's lock. Readers keep the old value
    /// meanwhile. When another execution of the key is running, the refresh waits for it and then checks
    /// whether the entry still needs refreshing (that execution usually stored a fresh value).
    /// </summary>
    internal void StartRefresh<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item)
    {
        if (Services.IsDisposed || !IsCurrent(in key, item))
        {
            return;
        }

        if (ChecksBeforeRefresh)
        {
            Services.BeginWork();
            _ = CheckThenRefreshAsync(key, binding, args, item);
            return;
        }

        StartRefreshNow(key, binding, args, item);
    }

    /// <summary>
    /// Whether a due refresh first asks <see cref="RefreshDueAsync"/> (a distributed backend: the entry may be gone, or
    /// refreshed by another process). The check runs before the refresh's execution exists, so no caller joins a
    /// refresh that does not run.
    /// </summary>
    protected virtual bool ChecksBeforeRefresh => false;

    /// <summary>Whether the entry is still due for a refresh; false when the keyspace dropped or rescheduled the registration itself.</summary>
    protected virtual ValueTask<bool> RefreshDueAsync(TKey key, Binding<TKey, TValue> binding, ScheduledItem item) => new(true);

    private async Task CheckThenRefreshAsync<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item)
    {
        try
        {
            await Task.Yield(); // off the scheduler's thread
            if (await RefreshDueAsync(key, binding, item).ConfigureAwait(false) && !Services.IsDisposed && IsCurrent(in key, item))
            {
                StartRefreshNow(key, binding, args, item);
            }
        }
        catch (Exception error)
        {
            // The check could not read the store (Throw mode): a failed refresh, retried with back-off.
            Telemetry.Refreshed(binding.Tags, success: false);
            OnRefreshFailed(item, error);
        }
        finally
        {
            Services.EndWork();
        }
    }

    private void StartRefreshNow<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item)
    {
        var gate = Locks.Enter(key);
        var flight = binding.NewFlight();
        if (!gate.TryStart(flight))
        {
            var busy = Volatile.Read(ref gate.Current);
            Locks.Exit(key, gate);
            Services.BeginWork();
            var retry = new RefreshRetry<TArgs>(this, key, binding, args, item);
            if (busy is null)
            {
                ThreadPool.UnsafeQueueUserWorkItem(retry, preferLocal: false);
            }
            else
            {
                busy.Task.ContinueWith(static (_, state) => ((RefreshRetry<TArgs>)state!).Execute(), retry, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return;
        }

        // The scheduler owns the refresh: it leaves (cancelling the function's shared token) when the backend stops.
        var registration = flight.LeaveWhen(Services.Stopping);
        Arm(gate, flight, binding);
        Services.BeginWork();

        // The outcome is taken from the flight, so a refresh abandoned at its timeout counts as failed at once.
        flight.Task.ContinueWith(
            static (task, state) => ((RefreshOutcome)state!).Complete(task),
            new RefreshOutcome(this, binding.Tags, item, registration),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

        var work = new Work<TArgs>(this, gate, flight, key, args, binding, skipCache: true, item);
        if (binding.Invoker.IsAsync)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static work => _ = work.Keyspace.OwnAsync(work), work, preferLocal: false);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(static work => work.Keyspace.OwnDetached(work), work, preferLocal: false);
        }
    }

    /// <summary>An execution handed to another thread: what it needs to run and to release its gate reference.</summary>

    private sealed class RefreshOutcome(Keyspace<TKey, TValue> keyspace, Telemetry.Tags tags, ScheduledItem item, CancellationTokenRegistration registration)
    {
        public void Complete(Task<TValue> task)
        {
            try
            {
                registration.Dispose();
                Telemetry.Refreshed(tags, task.IsCompletedSuccessfully);
                if (!task.IsCompletedSuccessfully)
                {
                    keyspace.OnRefreshFailed(item, task.Exception?.InnerException ?? new OperationCanceledException());
                }
            }
            finally
            {
                keyspace.Services.EndWork();
            }
        }
    }

    private sealed class RefreshRetry<TArgs>(Keyspace<TKey, TValue> keyspace, TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, ScheduledItem item) : IThreadPoolWorkItem
    {
        public void Execute()
        {
            try
            {
                keyspace.StartRefresh(key, binding, args, item);
            }
            finally
            {
                keyspace.Services.EndWork();
            }
        }
    }
}
