using System.Security.Cryptography;
using CachifyNet.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// The entries of one function in Redis. Callers of one key in this process share one local execution (the core's
/// single flight); its owner then coordinates with other processes through a Redis lock per key:
/// value <c>{prefix}:{identity:args}</c>, lock <c>{prefix}:lock:{identity:args}</c>, wait marker
/// <c>{prefix}:wait:{identity:args}</c>, all in one Cluster slot thanks to the hash tag.
/// Synchronous callers use the synchronous client API, asynchronous callers the asynchronous one.
/// </summary>
internal sealed partial class RedisKeyspace<TKey, TValue> : Keyspace<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    private readonly RedisContext _redis;
    private readonly int _mask;
    private readonly string _valuePrefix;
    private readonly string _lockPrefix;
    private readonly string _waitPrefix;
    private readonly string _scanPattern;
    private readonly string _lockScanPattern;
    private readonly string _displayName;
    private readonly Telemetry.Tags _tags;
    private readonly NeverDieRegistry<TKey, TValue> _neverDie;
    private readonly ResultContract? _results;
    private readonly LocalLevel<TKey, TValue>? _local;
    private int _unfaithfulLogged;

    public RedisKeyspace(RedisContext redis, string identity, int mask, string displayName, ResultContract? results = null, bool typedKeyMatchesText = true)
        : base(redis.Services, identity)
    {
        _redis = redis;
        _neverDie = new NeverDieRegistry<TKey, TValue>(redis.Services);
        _results = results;
        _mask = mask;
        _displayName = displayName;
        _valuePrefix = redis.Prefix + ":{" + identity + ":";
        _lockPrefix = redis.Prefix + ":lock:{" + identity + ":";
        _waitPrefix = redis.Prefix + ":wait:{" + identity + ":";

        // One pattern finds values, locks and wait markers: '{' only ever opens the hash tag (names and
        // argument text cannot contain it), so "*{identity:" matches this identity and no other.
        _scanPattern = redis.Prefix + ":*{" + RedisKeyRules.GlobEscape(identity) + ":*";
        _lockScanPattern = redis.Prefix + ":lock:{" + RedisKeyRules.GlobEscape(identity) + ":*";
        _tags = new Telemetry.Tags(displayName, redis.Services.Kind);
        _local = redis.Local?.CreateLevel<TKey, TValue>(_valuePrefix, typedKeyMatchesText ? null : key => ValueKey(in key));
    }

    /// <summary>Local copies held (the <c>cachify.entry.count</c> gauge); null without a local level.</summary>
    public override int? EntryCount => _local?.Count;

    /// <summary>Never-die entries this process refreshes (tests).</summary>
    public int NeverDieCount => _neverDie.Count;

    /// <summary>The value key of <paramref name="key"/> (tests and the read path).</summary>
    public string ValueKey(in TKey key) => KeyTextWriter.Encode(in key, _mask, RedisKeyRules.ObjectText, _valuePrefix, "}");

    private EntryKeys Entry(in TKey key) => new(KeyTextWriter.Encode(in key, _mask, RedisKeyRules.ObjectText), this);

    private static RedisValue NewToken() => RandomNumberGenerator.GetBytes(16);

    // ---------------------------------------------------------------- reads

    /// <summary>The synchronous hit path: one GET (plus a read of Redis' time for entries written with a longer lifetime).</summary>
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

        var text = ValueKey(in key);
        var stamp = _local?.Observe(text);
        RedisKey valueKey = text;
        ReadResult read;
        EnvelopeHeader header;
        long ageMs;
        try
        {
            _redis.Ready(valueKey);
            if (stamp is null)
            {
                read = Decode(_redis.Database.StringGet(valueKey), reader, nowMs: null, out value, out header, out ageMs);
            }
            else
            {
                read = ReadResult.NeedsTime; // a copy needs the entry's age: read it with Redis' time
                value = default!;
                header = default;
                ageMs = 0;
            }

            if (read == ReadResult.NeedsTime)
            {
                var reply = (RedisResult[])_redis.Database.ScriptEvaluate(RedisScripts.ReadWithTime, [valueKey])!;
                read = Decode((RedisValue)reply[0], reader, (long)reply[1], out value, out header, out ageMs);
            }

            _redis.Succeeded();
        }
        catch (RedisServerException error) when (IsWrongType(error))
        {
            Unreadable(reader, ForeignType, error);
            return false;
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            if (_redis.Failed(reader.Tags, reader.Name, "get", error) is { } fatal)
            {
                throw fatal;
            }

            return _local is not null && _local.TryGetFallback(in key, reader, out value);
        }

        Keep(in key, text, stamp, read, value, in header, ageMs);
        return Served(read, in key);
    }

    /// <summary>The asynchronous hit path: a trusted local copy's completed task, allocation-free.</summary>
    public override bool TryGetTask(in TKey key, Binding<TKey, TValue> reader, out Task<TValue>? task)
    {
        task = null;
        return _local is { } local && local.TryGetTask(in key, reader, _neverDie, out task);
    }

    /// <summary>Keeps a local copy of a value read from Redis (aged by Redis' clock), unless its entry changed since <paramref name="stamp"/>.</summary>
    private void Keep(in TKey key, string valueKey, LocalLevel<TKey, TValue>.Stamp? stamp, ReadResult read, TValue value, in EnvelopeHeader header, long ageMs)
    {
        if (stamp is { } taken && read == ReadResult.Hit)
        {
            var ttl = header.TtlMs == 0 ? long.MaxValue : Services.ToTicks(TimeSpan.FromMilliseconds(header.TtlMs));
            _local!.Put(in key, valueKey, value, taken, ttl, header.NeverDie, Services.ToTicks(TimeSpan.FromMilliseconds(ageMs)));
        }
    }

    /// <summary>Keeps a local copy of a value this process just stored (no read of the entry under way here lands after it).</summary>
    private void Keep(in TKey key, string valueKey, LocalLevel<TKey, TValue>.Stamp? stamp, TValue value, Binding<TKey, TValue> writer)
    {
        if (stamp is { } taken)
        {
            _local!.Put(in key, valueKey, value, taken, writer.TtlTicks, writer.NeverDie, ageTicks: 0, written: true);
        }
    }

    /// <summary>The asynchronous call path: GET first, then (on a miss) the core's single flight and <see cref="ProduceAsync"/>.</summary>
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
        var text = ValueKey(in key);
        var stamp = _local?.Observe(text);
        RedisKey valueKey = text;
        ReadResult read;
        TValue value;
        EnvelopeHeader header = default;
        long ageMs = 0;
        try
        {
            _redis.Ready(valueKey);
            if (stamp is null)
            {
                var raw = await WithCancellation(_redis.Database.StringGetAsync(valueKey), waitToken).ConfigureAwait(false);
                read = Decode(raw, binding, nowMs: null, out value, out header, out ageMs);
            }
            else
            {
                read = ReadResult.NeedsTime; // a copy needs the entry's age: read it with Redis' time
                value = default!;
            }

            if (read == ReadResult.NeedsTime)
            {
                var reply = (RedisResult[])(await WithCancellation(_redis.Database.ScriptEvaluateAsync(RedisScripts.ReadWithTime, [valueKey]), waitToken).ConfigureAwait(false))!;
                read = Decode((RedisValue)reply[0], binding, (long)reply[1], out value, out header, out ageMs);
            }

            _redis.Succeeded();
            Keep(in key, text, stamp, read, value, in header, ageMs);
        }
        catch (RedisServerException error) when (IsWrongType(error))
        {
            Unreadable(binding, ForeignType, error);
            read = ReadResult.Miss;
            value = default!;
        }
        catch (Exception error) when (RedisContext.IsBackendError(error))
        {
            if (_redis.Failed(binding.Tags, binding.Name, "get", error) is { } fatal)
            {
                throw fatal;
            }

            value = default!;
            read = _local is not null && _local.TryGetFallback(in key, binding, out value) ? ReadResult.Hit : ReadResult.Miss;
        }

        if (Served(read, in key))
        {
            Telemetry.Hit(binding.Tags);
            return value;
        }

        return await base.InvokeAsync(key, args, binding, skipCache: false, cancellationToken).ConfigureAwait(false);
    }

    private bool Served(ReadResult read, in TKey key)
    {
        if (read != ReadResult.Hit)
        {
            return false;
        }

        _neverDie.Touch(in key);

        return true;
    }

    /// <summary>
    /// Decodes a stored value for <paramref name="reader"/>: a miss when absent, unreadable (corrupt, another format
    /// or result type) or older than the reader's TTL allows; <see cref="ReadResult.NeedsTime"/> when the age rule
    /// applies and Redis' time (<paramref name="nowMs"/>) is not known yet.
    /// </summary>
    private ReadResult Decode(RedisValue raw, Binding<TKey, TValue> reader, long? nowMs, out TValue value, out EnvelopeHeader header, out long ageMs)
    {
        value = default!;
        header = default;
        ageMs = 0;
        if (raw.IsNull)
        {
            return ReadResult.Miss;
        }

        if (!Envelope.TryRead((ReadOnlyMemory<byte>)raw, out header))
        {
            Unreadable(reader, "not a value of this Cachify format", error: null);
            return ReadResult.Miss;
        }

        if (header.TypeTag != TypeTag<TValue>.Value)
        {
            Unreadable(reader, "written for another result type", error: null);
            return ReadResult.Miss;
        }

        switch (Envelope.Check(in header, Envelope.TtlMs(reader.Ttl), reader.NeverDie, nowMs))
        {
            case Usability.NeedsTime:
                return ReadResult.NeedsTime;
            case Usability.TooOld:
                return ReadResult.Miss;
        }

        if (nowMs is { } now)
        {
            ageMs = header.AgeMs(now);
        }

        if (header.IsNull)
        {
            return ReadResult.Hit;
        }

        try
        {
            value = _redis.Serializer.Deserialize<TValue>(header.Payload.Span);
            return ReadResult.Hit;
        }
        catch (Exception error)
        {
            Unreadable(reader, "the serializer could not read it", error);
            value = default!;
            return ReadResult.Miss;
        }
    }

    /// <summary>
    /// Whether <paramref name="value"/> would come back from Redis as it is (see <see cref="ResultContract"/>). A value that
    /// would not is returned to its caller without being stored; the first one is logged, once per keyspace.
    /// </summary>
    private bool MayEncode(TValue value, Binding<TKey, TValue> binding)
    {
        if (_results is null || _results.IsFaithful(value, out var problem))
        {
            return true;
        }

        if (Interlocked.Exchange(ref _unfaithfulLogged, 1) == 0)
        {
            RedisLog.ResultNotFaithful(Logger, binding.Name, problem);
        }

        return false;
    }

    private void Unreadable(Binding<TKey, TValue> reader, string reason, Exception? error)
    {
        Telemetry.BackendError(reader.Tags, "deserialize");
        RedisLog.PayloadUnreadable(Logger, reader.Name, reason, error);
    }

    private const string ForeignType = "a value of another Redis type is stored under its key";

    /// <summary>GET of a key that holds a list, hash, ... (written by someone else): an unreadable value, not a Redis failure.</summary>
    private static bool IsWrongType(RedisServerException error) => error.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);

    private static Task<T> WithCancellation<T>(Task<T> task, CancellationToken token)
        => token.CanBeCanceled ? task.WaitAsync(token) : task;

    private enum ReadResult
    {
        Miss,
        Hit,
        NeedsTime,
    }

    /// <summary>The three keys of one entry (same hash tag) and the value key's text (the notification message).</summary>
    private readonly struct EntryKeys
    {
        public EntryKeys(string argumentPart, RedisKeyspace<TKey, TValue> keyspace)
        {
            Text = string.Concat(keyspace._valuePrefix, argumentPart, "}");
            All = [Text, string.Concat(keyspace._lockPrefix, argumentPart, "}"), string.Concat(keyspace._waitPrefix, argumentPart, "}")];
        }

        public string Text { get; }

        /// <summary>Value, lock and wait marker, in the order the scripts expect.</summary>
        public RedisKey[] All { get; }

        public RedisKey Value => All[0];

        public RedisKey Lock => All[1];
    }
}
