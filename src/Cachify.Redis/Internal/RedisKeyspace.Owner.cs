using CachifyNet.Internal.Stores;
using CachifyNet.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// What the owner of this process's execution of a key does: read the value or take the key's Redis lock in one
/// script; when another process holds the lock, wait for its notification (or poll with back-off) and check again;
/// with the lock, run the function while renewing the lock, then store the result only if the lock is still ours.
/// Written once for both call forms (<see cref="IRedisIo"/>): synchronous callers make synchronous Redis calls.
/// </summary>
internal sealed partial class RedisKeyspace<TKey, TValue>
{
    protected override TValue Produce<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
    {
        // Every Redis call of SyncRedisIo completes synchronously, and so does a synchronous function: so does the whole.
        return SyncRedisIo.Result(Produce<SyncRedisIo, TArgs>(key, args, binding, flight, skipCache));
    }

    protected override Task<TValue> ProduceAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
        => Produce<AsyncRedisIo, TArgs>(key, args, binding, flight, skipCache).AsTask();

    private async ValueTask<TValue> Produce<TIo, TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache)
        where TIo : struct, IRedisIo
    {
        var generation = Generation;
        var entry = Entry(in key);
        var stamp = _local?.Observe(entry.Text);
        var token = NewToken();
        var mode = skipCache ? AcquireMode.LockOnly : AcquireMode.ValueFirst;
        LockWait? wait = null;
        try
        {
            while (true)
            {
                wait?.Reset();
                AcquireReply reply;
                try
                {
                    _redis.Ready(entry.Value);
                    reply = AcquireReply.Parse(await TIo.ScriptEvaluate(_redis.Database, RedisScripts.Acquire, entry.All, [token, _redis.LockMs, (int)mode], CancellationToken.None).ConfigureAwait(false));
                }
                catch (Exception error) when (RedisContext.IsBackendError(error))
                {
                    // Redis failed for this call: run the function without the cache (Silent) or throw (Throw).
                    if (_redis.Failed(binding.Tags, binding.Name, "lock", error) is { } fatal)
                    {
                        throw fatal;
                    }

                    return await Run<TIo, TArgs>(binding, args, flight).ConfigureAwait(false);
                }

                switch (Decide(reply, ref mode, skipCache, in key, in args, binding, ref wait, entry, stamp, out var found, out var delay))
                {
                    case Step.Return:
                        return found;
                    case Step.ReleaseAndReturn:
                        await Release<TIo>(entry, token, extendMs: 0, binding).ConfigureAwait(false);
                        return found;
                    case Step.Own:
                        return await RunAsOwner<TIo, TArgs>(entry, token, key, args, binding, flight, generation, stamp).ConfigureAwait(false);
                    case Step.Subscribe:
                        await _redis.EnsureSubscribed<TIo>().ConfigureAwait(false);
                        break;
                    case Step.Wait:
                        await TIo.Wait(wait!, delay, flight.Token).ConfigureAwait(false);
                        Services.ThrowIfDisposed();
                        if (flight.IsCompleted)
                        {
                            // Abandoned at its hard timeout: nobody takes the result, so stop waiting (and never run it late).
                            return default!;
                        }

                        break;
                    case Step.TimedOut:
                        WaitTimedOut(binding);
                        return await Run<TIo, TArgs>(binding, args, flight).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            wait?.Dispose();
        }
    }

    /// <summary>Runs the function in the caller's form: a synchronous caller's function synchronously.</summary>
    private static ValueTask<TValue> Run<TIo, TArgs>(Binding<TKey, TArgs, TValue> binding, TArgs args, Flight<TValue> flight)
        where TIo : struct, IRedisIo
        => TIo.IsAsync ? new(ExecuteAsync(binding, args, flight)) : new(Execute(binding, in args, flight));

    /// <summary>What to do after one <see cref="RedisScripts.Acquire"/>.</summary>
    private Step Decide<TArgs>(in AcquireReply reply, ref AcquireMode mode, bool skipCache, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, ref LockWait? wait, in EntryKeys entry, LocalLevel<TKey, TValue>.Stamp? stamp, out TValue found, out TimeSpan delay)
    {
        found = default!;
        delay = default;
        switch (reply.Status)
        {
            case AcquireReply.Found:
                if (TryUse(reply.Value, reply.Number, in key, in args, binding, entry.Text, stamp, out found))
                {
                    return Step.Return;
                }

                // Too old for this caller, or unreadable: take the lock and overwrite it.
                mode = AcquireMode.LockFirst;
                return Step.Retry;

            case AcquireReply.Taken:
                // Double check under the lock: another process may have stored the value just before.
                if (mode != AcquireMode.LockOnly && TryUse(reply.Value, reply.Number, in key, in args, binding, entry.Text, stamp, out found))
                {
                    return Step.ReleaseAndReturn;
                }

                if (wait is not null && !skipCache)
                {
                    // We waited for another process and it left no value behind: a takeover worth knowing about.
                    RedisLog.LockTakenOver(Logger, binding.Name);
                }

                return Step.Own;

            default:
                if (wait is null)
                {
                    // Register before the next check, so a notification sent after it is not lost.
                    wait = _redis.Waiters.Add(entry.Text, _redis.MaxPoll, _redis.LockWaitTimeout);
                    return Step.Subscribe;
                }

                if (wait.TimedOut)
                {
                    return Step.TimedOut;
                }

                delay = wait.NextDelay(reply.Number);
                mode = skipCache ? AcquireMode.LockOnly : AcquireMode.ValueFirst;
                return Step.Wait;
        }
    }

    /// <summary>Decodes a value found by a script (with Redis' time); a never-die reader registers to refresh it, and the local level keeps a copy.</summary>
    private bool TryUse<TArgs>(RedisValue raw, long nowMs, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, string valueKey, LocalLevel<TKey, TValue>.Stamp? stamp, out TValue value)
    {
        if (Decode(raw, binding, nowMs, out value, out var header, out var ageMs) != ReadResult.Hit)
        {
            return false;
        }

        Keep(in key, valueKey, stamp, ReadResult.Hit, value, in header, ageMs);

        if (binding.NeverDie)
        {
            RegisterRead(in key, in args, binding, ageMs);
        }

        return true;
    }

    private async ValueTask<TValue> RunAsOwner<TIo, TArgs>(EntryKeys entry, RedisValue token, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation, LocalLevel<TKey, TValue>.Stamp? stamp)
        where TIo : struct, IRedisIo
    {
        TValue value;
        using (var renewal = new LockRenewal(_redis, entry.Lock, token, binding.Tags, binding.Name))
        {
            ReleaseWhenAbandoned(flight, entry, token, renewal, binding);
            try
            {
                value = await Run<TIo, TArgs>(binding, args, flight).ConfigureAwait(false);
            }
            catch
            {
                renewal.Dispose();
                await Release<TIo>(entry, token, extendMs: 0, binding).ConfigureAwait(false);
                throw;
            }
        }

        ReadOnlyMemory<byte>? encoded = null;
        if (MayStore(flight, generation))
        {
            try
            {
                encoded = Encode(value, binding);
            }
            catch
            {
                // Throw mode: the serialization error goes to the callers, and the lock is released (not left to expire).
                await Release<TIo>(entry, token, extendMs: 0, binding).ConfigureAwait(false);
                throw;
            }
        }

        if (encoded is not { } tail)
        {
            // Doomed by Invalidate or Clear, or a result that is not stored: the lock goes now.
            await Release<TIo>(entry, token, extendMs: 0, binding).ConfigureAwait(false);
            return value;
        }

        bool stored;
        try
        {
            stored = await Commit<TIo>(entry, token, tail, binding).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            if (_redis.Failed(binding.Tags, binding.Name, "set", error) is { } fatal)
            {
                throw fatal;
            }

            return value;
        }

        await Committed<TIo, TArgs>(stored, key, args, value, binding, flight, generation, entry, stamp).ConfigureAwait(false);
        return value;
    }

    /// <summary>
    /// The final write of an execution (a call's owner or a never-die refresh): stores the result only while the lock
    /// still holds <paramref name="token"/>, deletes the lock and notifies waiters. Returns whether it stored; Redis
    /// failures are thrown, for each path to handle its own way.
    /// </summary>
    private async ValueTask<bool> Commit<TIo>(EntryKeys entry, RedisValue token, ReadOnlyMemory<byte> tail, Binding<TKey, TValue> binding)
        where TIo : struct, IRedisIo
    {
        _redis.Ready(entry.Value);
        var stored = await TIo.ScriptEvaluate(_redis.Database, RedisScripts.Commit, entry.All, [token, tail, Px(binding), _redis.ChannelName, entry.Text], CancellationToken.None).ConfigureAwait(false);
        return (long)stored == 1;
    }

    /// <summary>
    /// After the final write (of a call's owner or of a never-die refresh): the one place where a value this process
    /// computed is known to be stored. A never-die value registers to be refreshed; a value a Clear raced with goes; the
    /// local level keeps a copy (this process reads its own write) and the other processes are told to drop theirs.
    /// </summary>
    private async ValueTask Committed<TIo, TArgs>(bool stored, TKey key, TArgs args, TValue value, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation, EntryKeys entry, LocalLevel<TKey, TValue>.Stamp? stamp)
        where TIo : struct, IRedisIo
    {
        if (!stored)
        {
            RedisLog.LockLost(Logger, binding.Name);
            return;
        }

        if (binding.NeverDie)
        {
            RegisterWrite(in key, in args, binding);
        }

        if (_local is { } local)
        {
            Keep(in key, entry.Text, stamp, value, binding);
            try
            {
                await local.Hub.Publish(entry.Text, cleared: false, TIo.IsAsync).ConfigureAwait(false);
            }
            catch (Exception error) when (RedisContext.IsBackendError(error))
            {
                if (_redis.Failed(binding.Tags, binding.Name, "publish", error) is { } fatal)
                {
                    throw fatal;
                }
            }
        }

        if (!MayStore(flight, generation))
        {
            // Clear ran while we stored: its SCAN may have missed the new value.
            await Unlink<TIo>(entry).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The PX of a value: the TTL; for never-die entries 11 × TTL, so the last good value survives failed refreshes
    /// (each failure extends it) but expires once no process refreshes it any more. 0 when entries never expire.
    /// </summary>
    private static long Px(Binding<TKey, TValue> binding)
    {
        var ttlMs = Envelope.TtlMs(binding.Ttl);
        return binding.NeverDie ? ttlMs * 11 : ttlMs;
    }

    /// <summary>
    /// The envelope of a result, or null when it would not come back as it is (logged once) or cannot be serialized
    /// (logged and counted; thrown in Throw mode).
    /// </summary>
    private ReadOnlyMemory<byte>? Encode(TValue value, Binding<TKey, TValue> binding)
    {
        if (!MayEncode(value, binding))
        {
            return null;
        }

        try
        {
            return Envelope.EncodeTail(value, Envelope.TtlMs(binding.Ttl), binding.NeverDie, TypeTag<TValue>.Value, _redis.Serializer);
        }
        catch (Exception error)
        {
            Telemetry.BackendError(binding.Tags, "serialize");
            if (_redis.OnError == RedisErrorMode.Throw)
            {
                throw new CachifyException($"The result of {binding.Name} could not be serialized for Redis: {error.Message}", error);
            }

            RedisLog.SerializeFailed(Logger, binding.Name, error);
            return null;
        }
    }

    /// <summary>
    /// The lock stayed with another process for <c>LockWaitTimeout</c>: throws in Throw mode; in Silent mode logs,
    /// and the caller runs the function itself without storing (the lock is not its own).
    /// </summary>
    private void WaitTimedOut(Binding<TKey, TValue> binding)
    {
        Telemetry.BackendError(binding.Tags, "wait");
        if (_redis.OnError == RedisErrorMode.Throw)
        {
            throw new CachifyException(
                $"{binding.Name} waited {_redis.LockWaitTimeout} (LockWaitTimeout) for another process's execution of the same key.",
                new TimeoutException("The Redis lock of the key was held for longer than LockWaitTimeout."));
        }

        RedisLog.LockWaitTimedOut(Logger, binding.Name, _redis.LockWaitTimeout);
    }

    /// <summary>
    /// Releases the lock if still ours (errors are counted and logged: the lock expires by itself). Like every Redis
    /// call on a caller's path, it fails at once while the multiplexer reports Redis disconnected, rather than hold
    /// the caller (and the function's result or exception) in the multiplexer's backlog until the client timeout.
    /// </summary>
    private async ValueTask Release<TIo>(EntryKeys entry, RedisValue token, long extendMs, Binding<TKey, TValue> binding)
        where TIo : struct, IRedisIo
    {
        try
        {
            _redis.Ready(entry.Value);
            await TIo.ScriptEvaluate(_redis.Database, RedisScripts.Release, entry.All, [token, extendMs, _redis.ChannelName, entry.Text], CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            _redis.BackgroundFailed(binding.Tags, binding.Name, "release", error);
        }
    }

    /// <summary>
    /// With a hard timeout an execution can be abandoned while it runs: its callers got a <see cref="TimeoutException"/>
    /// and its result will not be stored. Its lock goes with it (renewal stopped, lock released), or every later call of
    /// the key, in every process, would wait for a lock that is renewed for as long as the hung function lives.
    /// </summary>
    private void ReleaseWhenAbandoned(Flight<TValue> flight, EntryKeys entry, RedisValue token, LockRenewal renewal, Binding<TKey, TValue> binding)
    {
        if (binding.HardTimeout is null)
        {
            return;
        }

        flight.Task.ContinueWith(
            static (task, state) => ((Abandoned)state!).OnFlightFaulted(task),
            new Abandoned(this, entry, token, renewal, binding, flight),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
    }

    private sealed class Abandoned(RedisKeyspace<TKey, TValue> keyspace, EntryKeys entry, RedisValue token, LockRenewal renewal, Binding<TKey, TValue> binding, Flight<TValue> flight)
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
            _ = keyspace.Release<AsyncRedisIo>(entry, token, extendMs: 0, binding).AsTask();
        }
    }

    private enum Step
    {
        Retry,
        Return,
        ReleaseAndReturn,
        Own,
        Subscribe,
        Wait,
        TimedOut,
    }
}
