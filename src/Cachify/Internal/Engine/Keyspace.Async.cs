namespace CachifyNet.Internal;

/// <summary>Asynchronous calls: join the running execution of the key or start one; never block.</summary>
internal abstract partial class Keyspace<TKey, TValue>
{
    // ---------------------------------------------------------------- asynchronous calls

    /// <summary>The slow path of an asynchronous call (the wrapper already tried <see cref="TryGetTask"/>).</summary>
    public virtual Task<TValue> InvokeAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken cancellationToken)
    {
        if (Services.IsDisposed)
        {
            return Task.FromException<TValue>(Services.DisposedError());
        }

        if (KeyError(in key, binding) is { } keyError)
        {
            return Task.FromException<TValue>(keyError);
        }

        if (!skipCache)
        {
            Telemetry.Miss(binding.Tags);
            TrackTarget(in key, binding);
        }

        var argumentToken = binding.Invoker.ArgumentToken(in args);
        if (argumentToken.CanBeCanceled && cancellationToken.CanBeCanceled && argumentToken != cancellationToken)
        {
            return InvokeLinkedAsync(key, args, binding, skipCache, argumentToken, cancellationToken);
        }

        return Join(key, args, binding, skipCache, cancellationToken.CanBeCanceled ? cancellationToken : argumentToken);
    }

    private async Task<TValue> InvokeLinkedAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken first, CancellationToken second)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(first, second);
        return await Join(key, args, binding, skipCache, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Joins the running execution of the key or starts one; never blocks.</summary>
    protected Task<TValue> Join<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken waitToken)
    {
        if (waitToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TValue>(waitToken);
        }

        var gate = Locks.Enter(key);
        if (skipCache)
        {
            return InvokeExclusiveAsync(gate, key, args, binding, waitToken);
        }

        var release = true;
        try
        {
            while (true)
            {
                var current = Volatile.Read(ref gate.Current);
                if (current is not null)
                {
                    if (current.TryJoin())
                    {
                        Telemetry.Joined(binding.Tags);
                        return WaitAsync(current, key, binding, waitToken);
                    }

                    release = false;
                    return RetryAfterAsync(gate, current, key, args, binding, waitToken);
                }

                var mine = binding.NewFlight();
                if (gate.TryStart(mine))
                {
                    return Own(gate, mine, key, args, binding, skipCache: false, waitToken);
                }
            }
        }
        finally
        {
            if (release)
            {
                Locks.Exit(key, gate);
            }
        }
    }

    /// <summary>
    /// Runs an asynchronous execution this caller owns (it runs to its end whatever the callers do) and returns what
    /// the caller awaits. The caller holds a reference to the gate until this returns. A function whose task is
    /// complete at once ends the flight here: its own task is the caller's, and no task of the flight is made unless
    /// another caller joined meanwhile.
    /// </summary>
    private Task<TValue> Own<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken waitToken)
    {
        Arm(gate, flight, binding);
        Task<TValue> produced;
        try
        {
            produced = binding.Producer.ProduceAsync(key, args, binding, flight, skipCache, refreshing: null);
        }
        catch (Exception error)
        {
            produced = Task.FromException<TValue>(error);
        }

        if (!produced.IsCompleted)
        {
            gate.AddRef();
            _ = CompleteWhenDone(produced, gate, flight, key);
            return WaitAsync(flight, key, binding, waitToken);
        }

        // Detach, then complete (nobody may join a completed flight); the caller releases its gate reference.
        flight.DisposeTimer();
        gate.Finish(flight);
        if (produced.IsCompletedSuccessfully)
        {
            // False when the hard timeout failed the flight first: the caller gets that outcome, as every waiter does.
            return flight.TrySetResult(produced.Result) ? produced : flight.Task;
        }

        flight.TrySetException(ErrorOf(produced));
        return flight.Task;
    }

    /// <summary>The exception awaiting a completed, unsuccessful task throws.</summary>
    private static Exception ErrorOf(Task<TValue> task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception error)
        {
            return error;
        }

        return new InvalidOperationException("The task completed successfully.");
    }

    /// <summary>Ends an execution whose function is still running when its owner returns: detach, complete, release the gate reference.</summary>
    private async Task CompleteWhenDone(Task<TValue> produced, AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> flight, TKey key)
    {
        TValue value = default!;
        Exception? failure = null;
        try
        {
            value = await produced.ConfigureAwait(false);
        }
        catch (Exception error)
        {
            failure = error;
        }

        flight.DisposeTimer();
        gate.Finish(flight);
        if (failure is null)
        {
            flight.TrySetResult(value);
        }
        else
        {
            flight.TrySetException(failure);
        }

        Locks.Exit(key, gate);
    }

    /// <summary>Every participant of the running execution gave up and it is being cancelled: wait for it to end, then join afresh.</summary>
    private async Task<TValue> RetryAfterAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, Flight<TValue> abandoned, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            await WaitQuietlyAsync(abandoned, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);

            // Its owner detaches it before completing it; yield rather than spin if that has not happened yet.
            while (ReferenceEquals(Volatile.Read(ref gate.Current), abandoned))
            {
                await Task.Yield();
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }

        return await Join(key, args, binding, skipCache: false, waitToken).ConfigureAwait(false);
    }

    private async Task<TValue> InvokeExclusiveAsync<TArgs>(AsyncKeyedLock<TKey, TValue>.Gate gate, TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken waitToken)
    {
        Flight<TValue>? mine = null;
        Task<TValue> result;
        try
        {
            if (!gate.HasQueue)
            {
                var first = binding.NewFlight();
                if (gate.TryStart(first))
                {
                    mine = first;
                }
            }

            if (mine is not null)
            {
                result = Own(gate, mine, key, args, binding, skipCache: true, waitToken);
            }
            else
            {

                gate.EnterQueue();
                try
                {
                    var handle = await gate.Exclusive.LockAsync(waitToken).ConfigureAwait(false);
                    try
                    {
                        while (true)
                        {
                            var current = Volatile.Read(ref gate.Current);
                            if (current is not null)
                            {
                                await WaitQuietlyAsync(current, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);
                                continue;
                            }

                            var next = binding.NewFlight();
                            if (gate.TryStart(next))
                            {
                                mine = next;
                                break;
                            }
                        }
                    }
                    catch
                    {
                        handle.Dispose();
                        throw;
                    }

                    // The queue stays closed until this caller's execution ends (even if the caller stops waiting).
                    ReleaseWhenDone(mine, handle);
                    result = Own(gate, mine, key, args, binding, skipCache: true, waitToken);
                }
                finally
                {
                    gate.LeaveQueue();
                }
            }
        }
        finally
        {
            Locks.Exit(key, gate);
        }

        return await result.ConfigureAwait(false);
    }

    /// <summary>Runs the owner's work to completion whatever the callers do, then completes the flight.</summary>
    private async Task OwnAsync<TArgs>(Work<TArgs> work)
    {
        try
        {
            var value = await work.Binding.Producer.ProduceAsync(work.Key, work.Args, work.Binding, work.Flight, work.SkipCache, work.Item).ConfigureAwait(false);
            Complete(work, value, error: null);
        }
        catch (Exception error)
        {
            Complete(work, default!, error);
        }
    }

    /// <summary>Ends an execution run away from its callers: detach, then complete, then release the gate reference.</summary>
    private void Complete<TArgs>(Work<TArgs> work, TValue value, Exception? error)
    {
        work.Flight.DisposeTimer();
        work.Gate.Finish(work.Flight);
        if (error is null)
        {
            work.Flight.TrySetResult(value);
        }
        else
        {
            work.Flight.TrySetException(error);
        }

        Locks.Exit(work.Key, work.Gate);
    }

    private Task<TValue> WaitAsync(Flight<TValue> flight, TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        if (flight.IsCompleted || (!waitToken.CanBeCanceled && binding.SoftTimeout is null))
        {
            return flight.Task;
        }

        return WaitSlowAsync(flight, key, binding, waitToken);
    }

    private async Task<TValue> WaitSlowAsync(Flight<TValue> flight, TKey key, Binding<TKey, TValue> binding, CancellationToken waitToken)
    {
        try
        {
            if (binding.SoftTimeout is { } soft
                && !await WaitQuietlyAsync(flight, soft, waitToken).ConfigureAwait(false)
                && TryGetStale(in key, binding, out var stale))
            {
                flight.HandOverToStore();
                return stale;
            }

            await WaitQuietlyAsync(flight, Timeout.InfiniteTimeSpan, waitToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            flight.Leave();
            throw;
        }

        return await flight.Task.ConfigureAwait(false);
    }

    private async Task<bool> WaitQuietlyAsync(Flight<TValue> flight, TimeSpan timeout, CancellationToken waitToken)
    {
        Task task = flight.Task;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            task = task.WaitAsync(timeout, Services.Time, waitToken);
        }
        else if (waitToken.CanBeCanceled)
        {
            task = task.WaitAsync(waitToken);
        }

        await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (flight.IsCompleted)
        {
            return true;
        }

        waitToken.ThrowIfCancellationRequested();
        return false;
    }
}
