namespace CachifyNet.Internal;

/// <summary>Synchronous calls: join the running execution of the key, or own one on the caller's thread (on the thread pool when a timeout may make the caller stop waiting).</summary>
internal abstract partial class Keyspace<TKey, TValue>
{
    // ---------------------------------------------------------------- synchronous calls

    /// <summary>The slow path of a synchronous call (the wrapper already tried <see cref="TryGet"/>).</summary>
    public TValue Invoke<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        Services.ThrowIfDisposed();
        if (KeyError(in key, binding) is { } keyError)
        {
            throw keyError;
        }

        var waitToken = binding.Invoker.ArgumentToken(in args);
        var gate = Locks.Enter(key);
        try
        {
            if (skipCache)
            {
                return InvokeExclusive(gate, in key, in args, binding, waitToken);
            }

            Telemetry.Miss(binding.Tags);
            TrackTarget(in key, binding);
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    if (current.TryJoin())
                    {
                        Telemetry.Joined(binding.Tags);
                        return Wait(current, in key, binding, waitToken);
                    }

                    WaitQuietly(current, Timeout.InfiniteTimeSpan, waitToken);
                    continue;
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    return Run(gate, mine, in key, in args, binding, skipCache: false, waitToken);
                }
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }
    }

    private TValue InvokeExclusive<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        // Uncontended: nobody runs and nobody queues, so no lock object is needed.
        if (!gate.HasQueue)
        {
            var first = binding.NewFlight();
            if (gate.TryStart(first))
            {
                return Run(gate, first, in key, in args, binding, skipCache: true, waitToken);
            }
        }

        gate.EnterQueue();
        try
        {
            var handle = gate.Exclusive.Lock(waitToken);
            Flight<TValue> mine;
            try
            {
                mine = StartAfterCurrent(gate, binding, waitToken);
            }
            catch
            {
                handle.Dispose();
                throw;
            }

            // The queue stays closed until this caller's execution ends (even if the caller stops waiting).
            ReleaseWhenDone(mine, handle);
            return Run(gate, mine, in key, in args, binding, skipCache: true, waitToken);
        }
        finally
        {
            gate.LeaveQueue();
        }
    }

    private Flight<TValue> StartAfterCurrent<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        while (true)
        {
            var current = Volatile.Read(ref gate.Current);
            if (current is not null)
            {
                WaitQuietly(current, Timeout.InfiniteTimeSpan, waitToken);
                continue;
            }

            var mine = binding.NewFlight();
            if (gate.TryStart(mine))
            {
                return mine;
            }
        }
    }

    /// <summary>
    /// Runs an execution this caller owns: on its own thread, or on the thread pool when the caller may
    /// have to stop waiting (a timeout is set), so that a hung function cannot hold the caller.
    /// </summary>
    private TValue Run<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken waitToken)
    {
        if (!binding.HasTimeouts)
        {
            return Own(gate, flight, in key, in args, binding, skipCache);
        }

        Arm(gate, flight, binding);
        gate.AddRef();
        var work = new Work<TArgs>(this, gate, flight, key, args, binding, skipCache, item: null);
        ThreadPool.UnsafeQueueUserWorkItem(static work => work.Keyspace.OwnDetached(work), work, preferLocal: false);
        return Wait(flight, in key, binding, waitToken);
    }

    private static TValue Own<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache)
    {
        TValue value;
        try
        {
            value = binding.Producer.Produce(in key, in args, binding, flight, skipCache, refreshing: null);
        }
        catch (Exception error)
        {
            // Detach before completing: nobody may join a completed flight.
            gate.Finish(flight);
            flight.TrySetException(error);
            throw;
        }

        gate.Finish(flight);
        flight.TrySetResult(value);
        return value;
    }

    /// <summary>Runs a synchronous execution away from its callers (timeouts, refreshes). Releases the gate reference it was given.</summary>
    private void OwnDetached<TArgs>(Work<TArgs> work)
    {
        try
        {
            var value = work.Binding.Producer.Produce(in work.Key, in work.Args, work.Binding, work.Flight, work.SkipCache, work.Item);
            Complete(work, value, error: null);
        }
        catch (Exception error)
        {
            Complete(work, default!, error);
        }
    }

    /// <summary>
    /// Blocks until the flight ends, or the caller cancels, or (with a soft timeout) a stale value can be
    /// served; returns the result or throws the execution's exception.
    /// </summary>
    private TValue Wait(Flight<TValue> flight, in TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            if (binding.SoftTimeout is { } soft && !WaitQuietly(flight, soft, waitToken) && TryGetStale(in key, binding, out var stale))
            {
                // The execution goes on and stores its result; this caller takes the last value now.
                flight.HandOverToStore();
                return stale;
            }

            WaitQuietly(flight, Timeout.InfiniteTimeSpan, waitToken);
        }
        catch (OperationCanceledException)
        {
            flight.Leave();
            throw;
        }

        return flight.GetResult();
    }

    /// <summary>
    /// Blocks until the flight ends or <paramref name="timeout"/> passes (false), ignoring the outcome;
    /// throws only when the caller cancels.
    /// </summary>
    private bool WaitQuietly(Flight<TValue> flight, TimeSpan timeout, CancellationToken waitToken)
    {
        if (flight.IsCompleted)
        {
            return true;
        }

        Task task = flight.Task;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            task = task.WaitAsync(timeout, Services.Time, waitToken);
        }
        else if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        if (flight.IsCompleted)
        {
            return true;
        }

        waitToken.ThrowIfCancellationRequested();
        return false;
    }
}
