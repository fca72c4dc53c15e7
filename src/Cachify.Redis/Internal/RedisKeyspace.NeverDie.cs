using CachifyNet.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Never-die entries in Redis. Their value key lives for 11 × TTL, extended after each failed refresh to the next
/// attempt plus 11 × TTL, so the last good value outlives failures while some process keeps trying, yet expires once
/// no process refreshes it.
/// Every process that wrote or read such an entry registers it in its scheduler; when due, it checks in one
/// script whether the entry is gone, already refreshed by another process (younger than TTL by Redis' clock), or
/// due, and takes the lock without waiting. Only the process that gets the lock runs the function: no duplicate
/// refreshes across processes. Other processes keep reading the old value meanwhile.
/// </summary>
internal sealed partial class RedisKeyspace<TKey, TValue>
{
    /// <summary>A never-die reader found a usable value: refresh it when it reaches its TTL (at once if it already has).</summary>
    private void RegisterRead<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, long ageMs)
    {
        if (_neverDie.Contains(in key))
        {
            return;
        }

        var age = Services.ToTicks(TimeSpan.FromMilliseconds(ageMs));
        _neverDie.Register(in key, new RedisNeverDieState<TKey, TArgs, TValue>(binding, args), Services.Now + Math.Max(0, binding.TtlTicks - age), replace: false);
    }

    /// <summary>A never-die wrapper stored a value: refresh it one TTL from now, with this wrapper's arguments.</summary>
    private void RegisterWrite<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding)
        => _neverDie.Register(in key, new RedisNeverDieState<TKey, TArgs, TValue>(binding, args), Services.Now + binding.TtlTicks, replace: true);

    protected override bool IsCurrent(in TKey key, ScheduledItem item) => _neverDie.IsCurrent(in key, item);

    /// <summary>A refresh failed (the function threw, or Redis could not be reached): keep the value, retry after TTL × 1.25ⁿ (at most 10 × TTL).</summary>
    protected override void OnRefreshFailed(ScheduledItem item, Exception error)
    {
        var registration = (NeverDieRegistration<TKey, TValue>)item;
        var state = registration.State;
        state.Failures++;
        var delay = state.RetryDelay();
        if (error is RedisException or RedisTimeoutException)
        {
            // Rate-limited with the backend's other Redis failures: one detailed line per outage, then summaries.
            if (_redis.ErrorLog.Failed("refresh", state.Binding.Name, error, removal: false))
            {
                RedisLog.RefreshCheckFailed(Logger, state.Binding.Name, state.Failures, Services.ToTimeSpan(delay), error);
            }
        }
        else
        {
            Log.RefreshFailed(Logger, state.Binding.Name, state.Failures, Math.Round(Services.ToTimeSpan(delay).TotalMilliseconds, 1), error);
        }

        Services.Scheduler.Schedule(registration, Services.Now + delay);
    }

    internal void BeginRefresh<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, NeverDieRegistration<TKey, TValue> item)
    {
        Services.BeginWork();
        var work = new RefreshWork<TArgs>(this, key, binding, args, item);
        ThreadPool.UnsafeQueueUserWorkItem(static work => _ = work.RunAsync(), work, preferLocal: false);
    }

    private async Task RefreshAsync<TArgs>(TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, NeverDieRegistration<TKey, TValue> item)
    {
        var entry = Entry(in key);
        RedisValue[] checkArgs = [default, _redis.LockMs, Envelope.TtlMs(binding.Ttl)];
        RedisKey[] checkKeys = [entry.Value, entry.Lock];
        while (IsCurrent(in key, item) && !Services.IsDisposed)
        {
            var token = NewToken();
            checkArgs[0] = token;
            int status;
            long ageMs;
            try
            {
                _redis.Ready(entry.Value);
                var reply = (RedisResult[])(await _redis.Database.ScriptEvaluateAsync(RedisScripts.Refresh, checkKeys, checkArgs).ConfigureAwait(false))!;
                status = (int)reply[0];
                ageMs = (long)reply[1];
            }
            catch (Exception error) when (RedisContext.IsBackendError(error))
            {
                Telemetry.BackendError(binding.Tags, "refresh");
                OnRefreshFailed(item, error);
                return;
            }

            switch (status)
            {
                case RedisScripts.Gone:
                    _neverDie.Drop(item);
                    return;
                case RedisScripts.Fresh:
                    // Another process refreshed it: due again when that value reaches its TTL.
                    item.State.Failures = 0;
                    Services.Scheduler.Schedule(item, Services.Now + Math.Max(0, binding.TtlTicks - Services.ToTicks(TimeSpan.FromMilliseconds(ageMs))));
                    return;
                case RedisScripts.Busy:
                    // Another process is running the function for this key; its value will be fresh.
                    Services.Scheduler.Schedule(item, Services.Now + binding.TtlTicks);
                    return;
            }

            var gate = Locks.Enter(key);
            var flight = binding.NewFlight();
            if (!gate.TryStart(flight))
            {
                // A call of this process runs for the key and may be waiting for the lock we hold: give it back,
                // let that call finish, then check again (it has most likely stored a fresh value).
                var running = Volatile.Read(ref gate.Current);
                Locks.Exit(key, gate);
                await Release<AsyncRedisIo>(entry, token, extendMs: 0, binding).ConfigureAwait(false);
                if (running is not null)
                {
                    await ((Task)running.Task).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }

                continue;
            }

            await OwnRefreshAsync(entry, token, gate, flight, key, args, binding, item).ConfigureAwait(false);
            return;
        }
    }

    /// <summary>
    /// Runs the function under the lock this process took, as the key's local execution (callers of the key join it).
    /// The wrapper's hard timeout applies as on a call: when it passes, the refresh is abandoned at once (its token is
    /// cancelled, local callers are released, the lock is released, the failure is counted and logged and retried
    /// with back-off, and the last good value is kept); the function's late result is dropped.
    /// </summary>
    private async Task OwnRefreshAsync<TArgs>(EntryKeys entry, RedisValue token, AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, NeverDieRegistration<TKey, TValue> item)
    {
        var registration = flight.LeaveWhen(Services.Stopping);
        var generation = Generation;
        var run = new RefreshRun(this, entry, token, binding, item);
        Arm(gate, flight, binding);

        // The outcome is taken from the flight, which completes once: by this method, or by the hard timeout.
        var outcome = flight.Task.ContinueWith(
            static (task, state) => ((RefreshRun)state!).OnFlightCompletedAsync(task),
            run,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default).Unwrap();
        try
        {
            var value = binding.Invoker.IsAsync
                ? await ExecuteAsync(binding, args, flight).ConfigureAwait(false)
                : Execute(binding, in args, flight);
            run.Dispose();

            // Completed already: abandoned at its hard timeout, and the outcome has released the lock.
            if (!flight.IsCompleted)
            {
                await StoreRefreshAsync(run, value, key, args, binding, flight, generation, item).ConfigureAwait(false);
            }

            // Detach before completing: nobody may join a completed flight.
            gate.Finish(flight);
            flight.TrySetResult(value);
        }
        catch (Exception error)
        {
            gate.Finish(flight);
            flight.TrySetException(error);
        }
        finally
        {
            run.Dispose();
            flight.DisposeTimer();
            registration.Dispose();
            gate.Finish(flight);
            Locks.Exit(key, gate);
        }

        await outcome.ConfigureAwait(false);
    }

    private async Task StoreRefreshAsync<TArgs>(RefreshRun run, TValue value, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation, NeverDieRegistration<TKey, TValue> item)
    {
        if (!MayStore(flight, generation))
        {
            await run.ReleaseAsync(extendMs: 0).ConfigureAwait(false);
            return;
        }

        if (!MayEncode(value, binding))
        {
            await run.ReleaseAsync(extendMs: 0).ConfigureAwait(false);
            Services.Scheduler.Schedule(item, Services.Now + binding.TtlTicks);
            return;
        }

        ReadOnlyMemory<byte> tail;
        try
        {
            tail = Envelope.EncodeTail(value, Envelope.TtlMs(binding.Ttl), neverDie: true, TypeTag<TValue>.Value, _redis.Serializer);
        }
        catch (Exception error)
        {
            Telemetry.BackendError(binding.Tags, "serialize");
            RedisLog.SerializeFailed(Logger, binding.Name, error);
            await run.ReleaseAsync(extendMs: 0).ConfigureAwait(false);
            Services.Scheduler.Schedule(item, Services.Now + binding.TtlTicks);
            return;
        }

        var stamp = _local?.Observe(run.Entry.Text);
        bool stored;
        try
        {
            stored = await Commit<AsyncRedisIo>(run.Entry, run.Token, tail, binding).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            Telemetry.BackendError(binding.Tags, "set");
            OnRefreshFailed(item, error);
            return;
        }

        await Committed<AsyncRedisIo, TArgs>(stored, key, args, value, binding, flight, generation, run.Entry, stamp).ConfigureAwait(false);
        if (!stored)
        {
            Services.Scheduler.Schedule(item, Services.Now + binding.TtlTicks);
        }
    }

    /// <summary>
    /// The lock one refresh holds: renewed while the function runs, released once (by the refresh, or by its outcome
    /// when it failed or was abandoned at its hard timeout), and the refresh's outcome, counted and logged once.
    /// </summary>
    private sealed class RefreshRun : IDisposable
    {
        private readonly RedisKeyspace<TKey, TValue> _keyspace;
        private readonly Binding<TKey, TValue> _binding;
        private readonly NeverDieRegistration<TKey, TValue> _item;
        private readonly LockRenewal _renewal;
        private int _released;

        public RefreshRun(RedisKeyspace<TKey, TValue> keyspace, EntryKeys entry, RedisValue token, Binding<TKey, TValue> binding, NeverDieRegistration<TKey, TValue> item)
        {
            _keyspace = keyspace;
            Entry = entry;
            Token = token;
            _binding = binding;
            _item = item;
            _renewal = new LockRenewal(keyspace._redis, entry.Lock, token, binding.Tags, binding.Name);
        }

        public EntryKeys Entry { get; }

        public RedisValue Token { get; }

        /// <summary>Stops renewing the lock (the function has ended).</summary>
        public void Dispose() => _renewal.Dispose();

        /// <summary>Releases the lock if this refresh has not yet (a commit deletes it by itself).</summary>
        public Task ReleaseAsync(long extendMs)
        {
            _renewal.Dispose();
            return Interlocked.Exchange(ref _released, 1) == 0
                ? _keyspace.Release<AsyncRedisIo>(Entry, Token, extendMs, _binding).AsTask()
                : Task.CompletedTask;
        }

        /// <summary>
        /// The flight completed: a success is counted; a failure (the function threw, or the hard timeout abandoned it
        /// while it runs) is counted, logged and retried with back-off, and the lock goes with the last good value kept
        /// until after that retry.
        /// </summary>
        public Task OnFlightCompletedAsync(Task<TValue> task)
        {
            if (task.IsCompletedSuccessfully)
            {
                Telemetry.Refreshed(_binding.Tags, success: true);
                return Task.CompletedTask;
            }

            Telemetry.Refreshed(_binding.Tags, success: false);
            _keyspace.OnRefreshFailed(_item, task.Exception?.InnerException ?? new OperationCanceledException());
            var services = _keyspace.Services;
            // Until the next attempt plus a value's whole lifetime (11 x TTL): a stall of the retrying processes
            // (a GC pause, a starved thread pool) of less than that never costs the last good value.
            var extendMs = Envelope.TtlMs(services.ToTimeSpan(_item.State.RetryDelay())) + Px(_binding);
            return ReleaseAsync(extendMs);
        }
    }

    private sealed class RefreshWork<TArgs>(RedisKeyspace<TKey, TValue> keyspace, TKey key, Binding<TKey, TArgs, TValue> binding, TArgs args, NeverDieRegistration<TKey, TValue> item)
    {
        public async Task RunAsync()
        {
            try
            {
                await keyspace.RefreshAsync(key, binding, args, item).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                Log.SchedulerCallbackFailed(keyspace.Logger, error);
            }
            finally
            {
                keyspace.Services.EndWork();
            }
        }
    }
}
