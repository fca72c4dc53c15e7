using System.Buffers.Binary;
using System.Security.Cryptography;
using CachifyNet.Stores;

namespace CachifyNet.Internal.Stores;

/// <summary>
/// The entries of one function in a <see cref="CacheStore"/>. Callers of one key in this process share one execution (the
/// core's single flight); its owner reads the store once more, runs the function and stores the result unless
/// Invalidate or Clear came meanwhile. Keys: value <c>{prefix}:v:{identity}:{arguments}</c>, generation
/// <c>{prefix}:g:{identity}</c>. The owner's algorithm is written once for both call forms (<see cref="IStoreIo"/>).
/// </summary>
/// <remarks>
/// <para>
/// Clear without enumerating the store: the generation key holds 8 random bytes, and every entry records the generation
/// it was written under. Clear writes a new generation, so every older entry reads as a miss (they expire by their TTL).
/// A missing generation key (never written, or evicted by the store) validates nothing: the next owner writes a new one.
/// </para>
/// <para>
/// An entry is served only while it is within its own TTL by its header, even if the store keeps it longer, and a reader
/// never takes an entry older than its own TTL unless the writer's lifetime is within its promise (as in memory and Redis).
/// </para>
/// </remarks>
internal sealed partial class StoreKeyspace<TKey, TValue> : Keyspace<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    private readonly StoreContext _store;
    private readonly int _mask;
    private readonly string _valuePrefix;
    private readonly string _generationKey;
    private readonly string _displayName;
    private readonly Telemetry.Tags _tags;
    private readonly ResultContract? _results;
    private readonly NeverDieRegistry<TKey, TValue> _neverDie;
    private readonly LocalLevel<TKey, TValue>? _local;
    private int _unfaithfulLogged;

    public StoreKeyspace(StoreContext store, string identity, int mask, string displayName, ResultContract? results, bool typedKeyMatchesText)
        : base(store.Services, identity)
    {
        _store = store;
        _neverDie = new NeverDieRegistry<TKey, TValue>(store.Services);
        _mask = mask;
        _displayName = displayName;
        _results = results;
        _valuePrefix = store.Prefix + ":v:" + identity + ":";
        _generationKey = store.Prefix + ":g:" + identity;
        _tags = new Telemetry.Tags(displayName, store.Services.Kind);
        _local = store.Copies ? store.Local!.CreateLevel<TKey, TValue>(_generationKey, typedKeyMatchesText ? null : key => ValueKey(in key)) : null;
    }

    private CacheStore Store => _store.Store;

    /// <summary>Local copies held (the <c>cachify.entry.count</c> gauge); null without a local level.</summary>
    public override int? EntryCount => _local?.Count;

    /// <summary>Never-die entries this process refreshes (tests).</summary>
    public int NeverDieCount => _neverDie.Count;

    /// <summary>The value key of <paramref name="key"/>.</summary>
    public string ValueKey(in TKey key) => KeyTextWriter.Encode(in key, _mask, KeyJson.Text, _valuePrefix, string.Empty);

    // ---------------------------------------------------------------- reads

    /// <summary>The synchronous hit path: a read of the value and, when there is one, of the generation.</summary>
    public override bool TryGet(in TKey key, Binding<TKey, TValue> reader, out TValue value)
    {
        value = default!;

        // The first read of a never-die entry goes through Produce, which knows the arguments and registers the refresh.
        if (Services.IsDisposed || (reader.NeverDie && !_neverDie.Contains(in key)))
        {
            return false;
        }

        if (_local is { } local && local.TryGet(in key, reader, _neverDie, out value))
        {
            return true;
        }

        var valueKey = ValueKey(in key);
        var stamp = _local?.Observe(valueKey);
        var read = SyncIo.Result(Read<SyncIo>(valueKey, reader, CancellationToken.None));
        if (read.Status != ReadStatus.Hit)
        {
            return read.Status == ReadStatus.Failed && _local is not null && _local.TryGetFallback(in key, reader, out value);
        }

        Served(in key);
        Keep(in key, valueKey, stamp, in read);
        value = read.Value;
        return true;
    }

    /// <summary>The asynchronous hit path: a trusted local copy's completed task, allocation-free.</summary>
    public override bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, out Task<TValue>? task)
    {
        task = null;
        return _local is { } local && local.TryGetTask(in key, reader, _neverDie, out task);
    }

    /// <summary>Keeps a local copy of what a read found, unless its entry changed since <paramref name="stamp"/>.</summary>
    private void Keep(in TKey key, string valueKey, LocalLevel<TKey, TValue>.Stamp? stamp, in ReadOutcome read)
    {
        if (stamp is { } taken)
        {
            var ttl = read.WriterTtlMs == 0 ? long.MaxValue : Services.ToTicks(TimeSpan.FromMilliseconds(read.WriterTtlMs));
            _local!.Put(in key, valueKey, read.Value, taken, ttl, read.NeverDie, Services.ToTicks(TimeSpan.FromMilliseconds(read.AgeMs)));
        }
    }

    /// <summary>The asynchronous call path: read first, then (on a miss) the core's single flight and <see cref="ProduceAsync"/>.</summary>
    public override Task<TValue> InvokeAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, bool skipCache, CancellationToken cancellationToken)
    {
        if (skipCache || Services.IsDisposed || (binding.NeverDie && !_neverDie.Contains(in key)))
        {
            return base.InvokeAsync(key, args, binding, skipCache, cancellationToken);
        }

        return ReadThenInvokeAsync(key, args, binding, cancellationToken);
    }

    private async Task<TValue> ReadThenInvokeAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, CancellationToken cancellationToken)
    {
        var waitToken = cancellationToken.CanBeCanceled ? cancellationToken : binding.Invoker.ArgumentToken(in args);
        var valueKey = ValueKey(in key);
        var stamp = _local?.Observe(valueKey);
        var read = await Read<AsyncIo>(valueKey, binding, waitToken).ConfigureAwait(false);
        if (read.Status == ReadStatus.Hit)
        {
            Served(in key);
            Keep(in key, valueKey, stamp, in read);
            Telemetry.Hit(binding.Tags);
            return read.Value;
        }

        if (read.Status == ReadStatus.Failed && _local is not null && _local.TryGetFallback(in key, binding, out var fallback))
        {
            Telemetry.Hit(binding.Tags);
            return fallback;
        }

        return await base.InvokeAsync(key, args, binding, skipCache: false, cancellationToken).ConfigureAwait(false);
    }

    private void Served(in TKey key)
    {
        _neverDie.Touch(in key);
    }

    /// <summary>
    /// Reads the value of a key and the function's generation (concurrently on the asynchronous path; the generation only
    /// when a value exists on the synchronous one). A store failure is a <see cref="ReadStatus.Failed"/> in Silent mode
    /// and a <see cref="CachifyException"/> in Throw mode.
    /// </summary>
    private async ValueTask<ReadOutcome> Read<TIo>(string valueKey, Binding<TKey, TValue> reader, CancellationToken token)
        where TIo : struct, IStoreIo
    {
        byte[]? raw = null;
        byte[]? generation = null;
        Exception? error = null;
        if (TIo.IsAsync)
        {
            ValueTask<byte[]?> valueRead = default, generationRead = default;
            try
            {
                valueRead = TIo.Get(Store, valueKey, token);
                generationRead = TIo.Get(Store, _generationKey, token);
            }
            catch (Exception thrown)
            {
                error = thrown;
            }

            // Both are awaited, so neither fails unobserved.
            try
            {
                raw = await valueRead.ConfigureAwait(false);
            }
            catch (Exception thrown)
            {
                error ??= thrown;
            }

            try
            {
                generation = await generationRead.ConfigureAwait(false);
            }
            catch (Exception thrown)
            {
                error ??= thrown;
            }
        }
        else
        {
            try
            {
                raw = await TIo.Get(Store, valueKey, token).ConfigureAwait(false);
                if (raw is null)
                {
                    _store.Succeeded();
                    return ReadOutcome.Missed;
                }

                generation = await TIo.Get(Store, _generationKey, token).ConfigureAwait(false);
            }
            catch (Exception thrown)
            {
                error = thrown;
            }
        }

        if (error is not null)
        {
            if (!StoreContext.IsStoreError(error, token))
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
            }

            if (_store.Failed(reader.Tags, reader.Name, "get", error) is { } fatal)
            {
                throw fatal;
            }

            return ReadOutcome.StoreFailed;
        }

        _store.Succeeded();
        var current = GenerationOf(generation);
        var status = Decode(raw, current, reader, out var value, out var header);
        return new ReadOutcome(status, value, header.AgeMs(_store.NowMs), current, GenerationKnown: true, header.TtlMs, header.NeverDie, raw);
    }

    /// <summary>Decodes a stored value for <paramref name="reader"/>: a miss when absent, unreadable, of another generation or too old.</summary>
    private ReadStatus Decode(byte[]? raw, long? generation, Binding<TKey, TValue> reader, out TValue value, out StoreHeader header)
    {
        value = default!;
        header = default;
        if (raw is null)
        {
            return ReadStatus.Miss;
        }

        if (!StoreEnvelope.TryRead(raw, out header))
        {
            Unreadable(reader, "not a value of this Cachify format", error: null);
            return ReadStatus.Miss;
        }

        if (header.TypeTag != TypeTag<TValue>.Value)
        {
            Unreadable(reader, "written for another result type", error: null);
            return ReadStatus.Miss;
        }

        if (generation is not { } current || header.Generation != current)
        {
            return ReadStatus.Miss; // written before a Clear
        }

        var ageMs = header.AgeMs(_store.NowMs);
        var writerTtl = header.TtlMs == 0 ? long.MaxValue : header.TtlMs;
        var readerTtl = StoreEnvelope.TtlMs(reader.Ttl) is var ttl && ttl == 0 ? long.MaxValue : ttl;

        // Past its own TTL (the store kept it longer than asked): never served. A never-die entry lives until its store expiry.
        if (!header.NeverDie && ageMs >= writerTtl)
        {
            return ReadStatus.Miss;
        }

        // The rule of Binding.TrustsWriter: a longer-lived (or never-die) writer's entry only while younger than the reader's TTL.
        if (!(writerTtl <= readerTtl && (!header.NeverDie || reader.NeverDie)) && ageMs >= readerTtl)
        {
            return ReadStatus.Miss;
        }

        if (header.IsNull)
        {
            return ReadStatus.Hit;
        }

        try
        {
            value = _store.Serializer.Deserialize<TValue>(header.Payload.Span);
            return ReadStatus.Hit;
        }
        catch (Exception error)
        {
            Unreadable(reader, "the serializer could not read it", error);
            value = default!;
            return ReadStatus.Miss;
        }
    }

    private static long? GenerationOf(byte[]? raw) => raw is { Length: 8 } ? BinaryPrimitives.ReadInt64BigEndian(raw) : null;

    private void Unreadable(Binding<TKey, TValue> reader, string reason, Exception? error)
    {
        Telemetry.BackendError(reader.Tags, "deserialize");
        StoreLog.PayloadUnreadable(Logger, reader.Name, reason, error);
    }

    // ---------------------------------------------------------------- the owner

    protected override TValue Produce<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
    {
        // Every store call of SyncIo completes synchronously, and so does a synchronous function: so does the whole.
        return SyncIo.Result(Produce<SyncIo, TArgs>(key, args, binding, flight, skipCache, (NeverDieRegistration<TKey, TValue>?)refreshing));
    }

    protected override Task<TValue> ProduceAsync<TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, ScheduledItem? refreshing)
        => Produce<AsyncIo, TArgs>(key, args, binding, flight, skipCache, (NeverDieRegistration<TKey, TValue>?)refreshing).AsTask();

    /// <summary>The owner's work: with a store lock, first the lock across processes (<see cref="ProduceLocked"/>); then <see cref="Own"/>.</summary>
    private ValueTask<TValue> Produce<TIo, TArgs>(TKey key, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, NeverDieRegistration<TKey, TValue>? refreshing)
        where TIo : struct, IStoreIo
    {
        var generation = Generation;
        var valueKey = ValueKey(in key);
        var stamp = _local?.Observe(valueKey);
        return _store.Lock is { } storeLock
            ? ProduceLocked<TIo, TArgs>(storeLock, key, valueKey, args, binding, flight, skipCache, refreshing, generation, stamp)
            : Own<TIo, TArgs>(key, valueKey, args, binding, flight, skipCache, refreshing, generation, stamp, held: null);
    }

    /// <summary>
    /// The owner's work once it may run: re-read (unless skipping the cache), make sure the function has a generation,
    /// run the function, store the result under that generation unless doomed meanwhile (with <paramref name="held"/>,
    /// commit it only while the lock is still ours). A store failure in Silent mode leaves the result uncached.
    /// </summary>
    private async ValueTask<TValue> Own<TIo, TArgs>(TKey key, string valueKey, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, bool skipCache, NeverDieRegistration<TKey, TValue>? refreshing, int generation, LocalLevel<TKey, TValue>.Stamp? stamp, HeldLock? held)
        where TIo : struct, IStoreIo
    {
        long? current = null;
        var usable = true;
        if (!skipCache)
        {
            var read = await Read<TIo>(valueKey, binding, CancellationToken.None).ConfigureAwait(false);
            if (read.Status == ReadStatus.Hit)
            {
                // Another process stored it just before we took the lock: use it, and let the lock go.
                await Release<TIo>(held, binding, wake: false).ConfigureAwait(false);
                return Found(in key, in args, binding, valueKey, flight, generation, stamp, in read);
            }

            if (held is { TookOver: true })
            {
                StoreLog.LockTakenOver(Logger, binding.Name);
            }

            usable = read.Status != ReadStatus.Failed;
            current = read.Generation;
            if (read.GenerationKnown && current is null)
            {
                current = await NewGeneration<TIo>(binding).ConfigureAwait(false);
                usable = current is not null;
            }
        }

        if (usable && current is null)
        {
            current = await CurrentGeneration<TIo>(binding).ConfigureAwait(false);
        }

        TValue value;
        using (var renewal = held is null ? null : new StoreLockRenewal(_store, valueKey, held.Owner, binding.Tags, binding.Name))
        {
            if (renewal is not null)
            {
                ReleaseWhenAbandoned(flight, held!, renewal, binding);
            }

            try
            {
                value = TIo.IsAsync ? await ExecuteAsync(binding, args, flight).ConfigureAwait(false) : Execute(binding, in args, flight);
            }
            catch
            {
                renewal?.Dispose();
                if (refreshing is not null && held?.LastGood is { } lastGood)
                {
                    await KeepLastGood<TIo>(held, lastGood, refreshing, binding).ConfigureAwait(false);
                }
                else
                {
                    await Release<TIo>(held, binding).ConfigureAwait(false);
                }

                throw;
            }
        }

        var stored = false;
        try
        {
            if (current is { } written)
            {
                stored = await StoreValue<TIo, TArgs>(key, valueKey, args, binding, flight, generation, written, value, refreshing, stamp, held).ConfigureAwait(false);
            }
            else if (refreshing is not null)
            {
                // The store failed before the function ran (Silent mode): the refresh is retried with back-off.
                OnRefreshFailed(refreshing, new CachifyException($"The store could not be read for the refresh of {binding.Name}."));
            }
        }
        finally
        {
            if (!stored)
            {
                // Not committed (doomed, not storable, or the store failed): the lock goes now, not at its lease's end.
                await Release<TIo>(held, binding).ConfigureAwait(false);
            }
        }

        return value;
    }

    /// <summary>The owner found the value in the store: a never-die reader registers to refresh it, and the local level keeps a copy.</summary>
    private TValue Found<TArgs>(in TKey key, in TArgs args, Binding<TKey, TArgs, TValue> binding, string valueKey, Flight<TValue> flight, int generation, LocalLevel<TKey, TValue>.Stamp? stamp, in ReadOutcome read)
    {
        if (binding.NeverDie)
        {
            RegisterRead(in key, in args, binding, read.AgeMs, flight, generation);
        }

        Keep(in key, valueKey, stamp, in read);
        return read.Value;
    }

    /// <summary>The function's generation, written first if there is none; null when the store failed (Silent mode).</summary>
    private async ValueTask<long?> CurrentGeneration<TIo>(Binding<TKey, TValue> binding)
        where TIo : struct, IStoreIo
    {
        byte[]? raw;
        try
        {
            raw = await TIo.Get(Store, _generationKey, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            if (_store.Failed(binding.Tags, binding.Name, "get", error) is { } fatal)
            {
                throw fatal;
            }

            return null;
        }

        return GenerationOf(raw) ?? await NewGeneration<TIo>(binding).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes a new random generation: every entry written before reads as a miss. (Two processes that write one at once
    /// each store under their own: the last write wins, and the other's entries read as misses once. Never a wrong value.)
    /// </summary>
    private async ValueTask<long?> NewGeneration<TIo>(Binding<TKey, TValue> binding)
        where TIo : struct, IStoreIo
    {
        var raw = NewGenerationBytes();
        try
        {
            await TIo.Set(Store, _generationKey, raw, Timeout.InfiniteTimeSpan, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            if (_store.Failed(binding.Tags, binding.Name, "set", error) is { } fatal)
            {
                throw fatal;
            }

            return null;
        }

        return GenerationOf(raw);
    }

    private static byte[] NewGenerationBytes()
    {
        var raw = new byte[8];
        RandomNumberGenerator.Fill(raw);
        return raw;
    }

    /// <summary>Stores a result (with <paramref name="held"/>, commits it while the lock is ours); returns whether it was written.</summary>
    private async ValueTask<bool> StoreValue<TIo, TArgs>(TKey key, string valueKey, TArgs args, Binding<TKey, TArgs, TValue> binding, Flight<TValue> flight, int generation, long written, TValue value, NeverDieRegistration<TKey, TValue>? refreshing, LocalLevel<TKey, TValue>.Stamp? stamp, HeldLock? held)
        where TIo : struct, IStoreIo
    {
        // A backend disposed while the function ran stores nothing (its process is going away; its lock may be lost).
        if (Services.IsDisposed || !MayStore(flight, generation))
        {
            return false;
        }

        ReadOnlyMemory<byte> bytes;
        try
        {
            if (!MayEncode(value, binding))
            {
                RescheduleAfterSkippedStore(refreshing, binding);
                return false;
            }

            bytes = StoreEnvelope.Encode(value, _store.NowMs, StoreEnvelope.TtlMs(binding.Ttl), binding.NeverDie, written, _store.Serializer);
        }
        catch (Exception error)
        {
            Telemetry.BackendError(binding.Tags, "serialize");
            if (_store.OnError == CacheStoreErrorMode.Throw)
            {
                throw new CachifyException($"The result of {binding.Name} could not be serialized for the store: {error.Message}", error);
            }

            StoreLog.SerializeFailed(Logger, binding.Name, error);
            RescheduleAfterSkippedStore(refreshing, binding);
            return false;
        }

        try
        {
            if (held is null)
            {
                await TIo.Set(Store, valueKey, bytes, Expiry(binding), CancellationToken.None).ConfigureAwait(false);
            }
            else if (!await TIo.Commit(held.Lock, valueKey, held.Owner, bytes, Expiry(binding)).ConfigureAwait(false))
            {
                // Invalidate removed the lock, or it expired, while the function ran: the result is not stored.
                _store.Succeeded();
                StoreLog.LockLost(Logger, binding.Name);
                RescheduleAfterSkippedStore(refreshing, binding);
                return true; // nothing left to release
            }

            _store.Succeeded();
        }
        catch (Exception error)
        {
            if (_store.Failed(binding.Tags, binding.Name, "set", error) is { } fatal)
            {
                throw fatal;
            }

            if (refreshing is not null)
            {
                OnRefreshFailed(refreshing, error);
            }

            return false;
        }

        // This process reads its own write at once; the others drop their copies (and wake their callers waiting for
        // the lock) when the notice reaches them.
        _local?.Put(in key, valueKey, value, stamp!.Value, binding.TtlTicks, binding.NeverDie, ageTicks: 0, written: true);
        if (_store.Local is { } hub)
        {
            try
            {
                await hub.Publish(valueKey, cleared: false, TIo.IsAsync).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                if (_store.Failed(binding.Tags, binding.Name, "publish", error) is { } fatal)
                {
                    throw fatal;
                }
            }
        }

        if (binding.NeverDie)
        {
            RegisterWrite(in key, in args, binding, flight, generation);
        }

        if (!MayStore(flight, generation))
        {
            // Invalidate or Clear came while we stored: the value may have landed after their removal.
            try
            {
                await TIo.Remove(Store, valueKey, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                Telemetry.BackendError(binding.Tags, "remove");
                _store.BackgroundFailed(binding.Name, "remove", error);
            }
        }

        return true;
    }

    /// <summary>A refreshed value that could not be stored: keep the registration, due again in one TTL.</summary>
    private void RescheduleAfterSkippedStore(NeverDieRegistration<TKey, TValue>? refreshing, Binding<TKey, TValue> binding)
    {
        if (refreshing is not null && !refreshing.IsDead)
        {
            Services.Scheduler.Schedule(refreshing, Services.Now + binding.TtlTicks);
        }
    }

    /// <summary>
    /// The store TTL of a value: the TTL; for never-die entries 11 × TTL, so the last good value survives failed refreshes
    /// for ten TTLs after it was written, and expires once no process refreshes it any more. With a store lock, a failed
    /// refresh extends it under the lock (<see cref="KeepLastGood"/>); without one it does not: rewriting the bytes read
    /// could bring back a value invalidated, or replaced by another process, meanwhile.
    /// </summary>
    private static TimeSpan Expiry(Binding<TKey, TValue> binding)
    {
        if (binding.Ttl == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }

        return binding.NeverDie ? TimeSpan.FromTicks((long)Math.Min(binding.Ttl.Ticks * 11.0, TimeSpan.MaxValue.Ticks / 2.0)) : binding.Ttl;
    }

    /// <summary>Whether <paramref name="value"/> would come back as it is (see <see cref="ResultContract"/>); the first one that would not is logged.</summary>
    private bool MayEncode(TValue value, Binding<TKey, TValue> binding)
    {
        if (_results is null || _results.IsFaithful(value, out var problem))
        {
            return true;
        }

        if (Interlocked.Exchange(ref _unfaithfulLogged, 1) == 0)
        {
            StoreLog.ResultNotFaithful(Logger, binding.Name, problem);
        }

        return false;
    }

    // ---------------------------------------------------------------- Invalidate and Clear

    public override void Remove(in TKey key)
        => SyncIo.Complete(Remove<SyncIo>(key, CancellationToken.None));

    public override ValueTask RemoveAsync(TKey key, CancellationToken cancellationToken)
        => Remove<AsyncIo>(key, cancellationToken);

    /// <summary>
    /// Invalidate: dooms this process's execution of the key, removes the entry, then drops the local copy (after the
    /// removal, so no copy read before it lands after) and tells the other processes.
    /// </summary>
    private async ValueTask Remove<TIo>(TKey key, CancellationToken cancellationToken)
        where TIo : struct, IStoreIo
    {
        Services.ThrowIfDisposed();
        Locks.Doom(key);
        _neverDie.Drop(in key);
        var valueKey = ValueKey(in key);
        try
        {
            await TIo.Remove(Store, valueKey, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (StoreContext.IsStoreError(error, cancellationToken))
        {
            _local?.Evict(in key, valueKey);
            throw _store.RemovalFailed(_tags, _displayName, "invalidate", error);
        }

        _local?.Evict(in key, valueKey);
        if (_store.Local is { } hub)
        {
            await Publish<TIo>(hub, valueKey, cleared: false, "invalidate", cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Clear()
        => SyncIo.Complete(Clear<SyncIo>(CancellationToken.None));

    public override ValueTask ClearAsync(CancellationToken cancellationToken)
        => Clear<AsyncIo>(cancellationToken);

    /// <summary>
    /// Clear: a new generation in the store (no entry written before is served from then on), then this process's copies
    /// dropped and the other processes told, then the old entries removed where the store can enumerate its keys
    /// (<see cref="CacheStore.RemoveByPrefix"/>; a failure there only leaves them to expire, so it is logged, not thrown).
    /// </summary>
    private async ValueTask Clear<TIo>(CancellationToken cancellationToken)
        where TIo : struct, IStoreIo
    {
        Services.ThrowIfDisposed();
        BeginClear();
        try
        {
            await TIo.Set(Store, _generationKey, NewGenerationBytes(), Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (StoreContext.IsStoreError(error, cancellationToken))
        {
            _local?.Clear();
            throw _store.RemovalFailed(_tags, _displayName, "clear", error);
        }

        _local?.Clear();
        if (_store.Local is { } hub)
        {
            await Publish<TIo>(hub, _generationKey, cleared: true, "clear", cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await TIo.RemoveByPrefix(Store, _valuePrefix, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (StoreContext.IsStoreError(error, cancellationToken))
        {
            Telemetry.BackendError(_tags, "clear");
            _store.BackgroundFailed(_displayName, "clear", error);
        }
    }

    /// <summary>Tells the other processes of an Invalidate or Clear; a notice that could not be sent fails the call, as a failed removal does.</summary>
    private async ValueTask Publish<TIo>(LocalHub hub, string text, bool cleared, string operation, CancellationToken cancellationToken)
        where TIo : struct, IStoreIo
    {
        try
        {
            await hub.Publish(text, cleared, TIo.IsAsync).ConfigureAwait(false);
        }
        catch (Exception error) when (StoreContext.IsStoreError(error, cancellationToken))
        {
            throw _store.RemovalFailed(_tags, _displayName, operation, new CachifyException("The backplane could not tell the other processes: " + error.Message, error));
        }
    }

    /// <summary>Dooms this process's running executions and forgets its never-die registrations (the store keeps the entries for other processes).</summary>
    private void BeginClear()
    {
        NextGeneration();
        Locks.DoomAll();
        _neverDie.ForgetAll();
    }

    /// <summary>The backend was disposed: stop refreshing. Entries stay in the store for other processes.</summary>
    public override void OnBackendDisposed() => _neverDie.ForgetAll();

    private enum ReadStatus
    {
        Miss,
        Hit,
        Failed,
    }

    /// <summary>
    /// What a read found; <see cref="Generation"/> is null when the function has none (or it was not read). A hit carries
    /// its entry's age, TTL (0: none) and never-die flag, for the local copy.
    /// </summary>
    private readonly record struct ReadOutcome(ReadStatus Status, TValue Value, long AgeMs, long? Generation, bool GenerationKnown, long WriterTtlMs = 0, bool NeverDie = false, byte[]? Raw = null)
    {
        public static ReadOutcome Missed => new(ReadStatus.Miss, default!, 0, null, GenerationKnown: false);

        public static ReadOutcome StoreFailed => new(ReadStatus.Failed, default!, 0, null, GenerationKnown: false);
    }
}
