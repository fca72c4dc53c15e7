using System.Security.Cryptography;
using CachifyNet.Stores;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// The store's lock across processes (<see cref="CacheStore.Lock"/>): this process's execution of a key first takes the
/// key's lock. When another process holds it, the caller waits, woken by the backplane's notice of the key (the owner
/// stored it) or by polling with back-off, reads the store and tries again; after <c>LockWaitTimeout</c> it runs the
/// function itself without storing (Silent) or throws (Throw). With the lock, the owner re-reads, runs the function
/// while renewing the lock, and commits the result only while the lock is still its own: an Invalidate in any process
/// removes the lock, so a result computed before it is not stored. A never-die refresh runs once per period across
/// processes: not when another process refreshed the entry already, nor while another process holds the lock.
/// </summary>
internal sealed partial class StoreKeyspace<TKey, TValue>
{
    private async ValueTask<TValue> ProduceLocked<TIo, TArgs>(CacheStoreLock storeLock, TKey key, string valueKey, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, NeverDieRegistration<TKey, TValue>? refreshing, int generation, LocalLevel<TKey, TValue>.Stamp? stamp)
        where TIo : struct, IStoreIo
    {
        // A refresh comes here after RefreshDueAsync found the entry due: it checks again only under the lock.
        var owner = NewOwner();
        LockWait? wait = null;
        try
        {
            while (true)
            {
                wait?.Reset();
                bool acquired;
                try
                {
                    acquired = await TIo.TryAcquire(storeLock, valueKey, owner, _store.LockTimeout).ConfigureAwait(false);
                }
                catch (Exception error)
                {
                    // The store failed for this call: run the function without the cache (Silent) or throw (Throw).
                    if (_store.Failed(binding.Tags, binding.Name, "lock", error) is { } fatal)
                    {
                        throw fatal;
                    }

                    var value = await Run<TIo, TArgs>(binding, args, flight).ConfigureAwait(false);
                    if (refreshing is not null)
                    {
                        OnRefreshFailed(refreshing, error);
                    }

                    return value;
                }

                if (acquired)
                {
                    var held = new HeldLock(storeLock, valueKey, owner, TookOver: wait is not null && !skipCache);
                    if (refreshing is not null)
                    {
                        // Checked again under the lock: another process may have refreshed it and released just before.
                        var again = await Read<TIo>(valueKey, binding, CancellationToken.None).ConfigureAwait(false);
                        if (RefreshedElsewhere(in key, valueKey, binding, refreshing, stamp, in again))
                        {
                            await Release<TIo>(held, binding, wake: false).ConfigureAwait(false);
                            return again.Value;
                        }

                        held = held with { LastGood = again.Status == ReadStatus.Hit && again.NeverDie ? again.Raw : null };
                    }

                    return await Own<TIo, TArgs>(key, valueKey, args, binding, flight, skipCache, refreshing, generation, stamp, held).ConfigureAwait(false);
                }

                if (refreshing is not null)
                {
                    // Another process runs the function for this key (most likely refreshing it): its value will be fresh.
                    var current = await Read<TIo>(valueKey, binding, CancellationToken.None).ConfigureAwait(false);
                    if (current.Status == ReadStatus.Hit)
                    {
                        Services.Scheduler.Schedule(refreshing, Services.Now + binding.TtlTicks);
                        return current.Value;
                    }
                }

                if (wait is null)
                {
                    // Register before the next check, so a notice sent after it is not lost.
                    wait = _store.Waiters.Add(valueKey, _store.MaxPoll, _store.LockWaitTimeout);
                    continue;
                }

                if (wait.TimedOut)
                {
                    WaitTimedOut(binding);
                    return await Run<TIo, TArgs>(binding, args, flight).ConfigureAwait(false);
                }

                await TIo.Wait(wait, wait.NextDelay(-1), flight.Token).ConfigureAwait(false);
                Services.ThrowIfDisposed();
                if (flight.IsCompleted)
                {
                    // Abandoned at its hard timeout: nobody takes the result, so stop waiting (and never run it late).
                    return default!;
                }

                if (!skipCache)
                {
                    var read = await Read<TIo>(valueKey, binding, CancellationToken.None).ConfigureAwait(false);
                    if (read.Status == ReadStatus.Hit)
                    {
                        return Found(in key, in args, binding, valueKey, flight, generation, stamp, in read);
                    }
                }
            }
        }
        finally
        {
            wait?.Dispose();
        }
    }

    private static string NewOwner() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

    /// <summary>Runs the function in the caller's form: a synchronous caller's function synchronously.</summary>
    private static ValueTask<TValue> Run<TIo, TArgs>(Binding<TKey, TArgs, TValue> binding, TArgs args, Flight<TValue> flight)
        where TIo : struct, IStoreIo
        => TIo.IsAsync ? new(ExecuteAsync(binding, args, flight)) : new(Execute(binding, in args, flight));

    /// <summary>
    /// Releases a lock held (if still ours); a failure is counted and logged, the lock expires by itself. With
    /// <paramref name="wake"/> (no value was stored: the function failed, or its result was not storable), the key's
    /// notice wakes the processes waiting for the lock at once rather than at their next poll; without it (the value was
    /// found under the lock, and the commit that stored it already told them), nothing is published.
    /// </summary>
    private async ValueTask Release<TIo>(HeldLock? held, Binding<TKey, TValue> binding, bool wake = true)
        where TIo : struct, IStoreIo
    {
        if (held is null)
        {
            return;
        }

        try
        {
            await TIo.Release(held.Lock, held.Key, held.Owner).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            Telemetry.BackendError(binding.Tags, "release");
            _store.BackgroundFailed(binding.Name, "release", error);
            return;
        }

        if (wake && _store.Local is { } hub)
        {
            try
            {
                await hub.Publish(held.Key, cleared: false, TIo.IsAsync).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                _store.BackgroundFailed(binding.Name, "publish", error);
            }
        }
    }

    /// <summary>
    /// The lock stayed with another process for <c>LockWaitTimeout</c>: throws in Throw mode; in Silent mode logs, and
    /// the caller runs the function itself without storing (the lock is not its own).
    /// </summary>
    private void WaitTimedOut(Binding<TKey, TValue> binding)
    {
        Telemetry.BackendError(binding.Tags, "wait");
        if (_store.OnError == CacheStoreErrorMode.Throw)
        {
            throw new CachifyException(
                $"{binding.Name} waited {_store.LockWaitTimeout} (LockWaitTimeout) for another process's execution of the same key.",
                new TimeoutException("The store lock of the key was held for longer than LockWaitTimeout."));
        }

        StoreLog.LockWaitTimedOut(Logger, binding.Name, _store.LockWaitTimeout);
    }

    /// <summary>
    /// With a hard timeout an execution can be abandoned while it runs: its callers got a <see cref="TimeoutException"/>
    /// and its result will not be stored. Its lock goes with it (renewal stopped, lock released), or every later call of
    /// the key, in every process, would wait for a lock renewed for as long as the hung function lives.
    /// </summary>
    private void ReleaseWhenAbandoned(Flight<TValue> flight, HeldLock held, StoreLockRenewal renewal, Binding<TKey, TValue> binding)
    {
        if (binding.HardTimeout is null)
        {
            return;
        }

        flight.Task.ContinueWith(
            static (task, state) => ((Abandoned)state!).OnFlightFaulted(task),
            new Abandoned(this, held, renewal, binding, flight),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
    }

    /// <summary>
    /// A lock this process holds for one execution; for a never-die refresh, the bytes of the last good value read under
    /// it (<see cref="KeepLastGood"/>).
    /// </summary>
    private sealed record HeldLock(CacheStoreLock Lock, string Key, string Owner, bool TookOver, byte[]? LastGood = null);

    /// <summary>
    /// A never-die refresh failed while it held the lock: the last good value's expiry is extended to the next attempt
    /// plus its store lifetime (11 × TTL), by committing its bytes as they were (still aged from when they were written),
    /// and the lock goes in the same step. So the last good value outlives failed refreshes for as long as some process
    /// keeps trying, yet expires once none does. Under the lock: an Invalidate meanwhile removed the lock, and then
    /// nothing is written (an entry invalidated is never brought back).
    /// </summary>
    private async ValueTask KeepLastGood<TIo>(HeldLock held, byte[] lastGood, NeverDieRegistration<TKey, TValue> refreshing, Binding<TKey, TValue> binding)
        where TIo : struct, IStoreIo
    {
        var expiry = Expiry(binding);
        var nextAttempt = Services.ToTimeSpan(refreshing.State.RetryDelay(refreshing.State.Failures + 1)).Ticks;
        var lifetime = expiry == Timeout.InfiniteTimeSpan ? expiry : TimeSpan.FromTicks((long)Math.Min((double)nextAttempt + expiry.Ticks, TimeSpan.MaxValue.Ticks / 2.0));
        try
        {
            await TIo.Commit(held.Lock, held.Key, held.Owner, lastGood, lifetime).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            Telemetry.BackendError(binding.Tags, "release");
            _store.BackgroundFailed(binding.Name, "release", error);
        }
    }

    private sealed class Abandoned(StoreKeyspace<TKey, TValue> keyspace, HeldLock held, StoreLockRenewal renewal, Binding<TKey, TValue> binding, Flight<TValue> flight)
    {
        public void OnFlightFaulted(Task task)
        {
            // Only the timeout fails a flight while its execution still runs (and dooms it); other failures come after
            // the execution ended, and the owner has released the lock itself.
            if (!flight.Doomed || task.Exception?.InnerException is not TimeoutException)
            {
                return;
            }

            renewal.Dispose();
            _ = keyspace.Release<AsyncIo>(held, binding).AsTask();
        }
    }
}
