using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Redis;

/// <summary>
/// One cache hit on Redis from a single caller (latency), sync and async, with an int argument and with a record
/// argument (one category each). The result is a <see cref="Profile"/> record.
/// <list type="bullet">
/// <item><b>Raw</b> (the floor): StackExchange.Redis <c>StringGet</c>/<c>StringGetAsync</c> of the very key Cachify
/// wrote (found with SCAN in setup) and <c>JsonSerializer.Deserialize&lt;Profile&gt;</c> of the same payload (the
/// bytes after Cachify's 22-byte envelope header): one round trip plus deserialization, nothing else.</item>
/// <item><b>Cachify</b>: a wrapper on the Redis backend, <c>.Named(...).NoSelf()</c>; sync wrappers use the sync client API.</item>
/// <item><b>FusionCache</b>: <c>GetOrSet</c>/<c>GetOrSetAsync</c> with Redis (Microsoft.Extensions.Caching.StackExchangeRedis)
/// as its distributed cache and its memory level skipped, so its hit is a Redis read too (its own key, a hash, and its
/// own payload: FusionCache's entry metadata around the same Profile JSON).</item>
/// </list>
/// Setup proves every benchmark returns the warmed value without running the function, and that 100 calls of each
/// sent at least 100 commands to Redis (none was served from memory).
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)] // a loopback round trip takes tens of microseconds: 100 ms still holds thousands of them
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RedisHitBenchmarks
{
    private const string IntName = "bench.profile";
    private const string RecordName = "bench.profile-by-query";

    private readonly int _id = 42;
    private readonly UserQuery _query = new(42, "eu-west");

    private RedisFixture _redis = null!;
    private IDatabase _database = null!;
    private RedisKey _intKey;
    private RedisKey _recordKey;

    private CachedFunc<int, Profile> _cachifySyncInt = null!;
    private AsyncCachedFunc<int, Profile> _cachifyAsyncInt = null!;
    private CachedFunc<UserQuery, Profile> _cachifySyncRecord = null!;
    private AsyncCachedFunc<UserQuery, Profile> _cachifyAsyncRecord = null!;

    [GlobalSetup]
    public void Setup()
    {
        _redis = new RedisFixture("hit");
        _database = _redis.Database;

        // Sync and async wrappers of one name share entries, so both read the same key.
        _cachifySyncInt = Cachify.Wrap((int id) => Source.LoadProfile(new UserQuery(id, "eu-west"))).Named(IntName).NoSelf().Backend(_redis.Backend);
        _cachifyAsyncInt = Cachify.Wrap((int id) => Task.FromResult(Source.LoadProfile(new UserQuery(id, "eu-west")))).Named(IntName).NoSelf().Backend(_redis.Backend);
        _cachifySyncRecord = Cachify.Wrap((UserQuery query) => Source.LoadProfile(query)).Named(RecordName).NoSelf().Backend(_redis.Backend);
        _cachifyAsyncRecord = Cachify.Wrap((UserQuery query) => Task.FromResult(Source.LoadProfile(query))).Named(RecordName).NoSelf().Backend(_redis.Backend);

        var profile = _cachifyAsyncInt.Invoke(_id).GetAwaiter().GetResult();
        Source.Expect(_cachifyAsyncRecord.Invoke(_query).GetAwaiter().GetResult(), profile, "record warm-up");
        _intKey = _redis.KeyOf(IntName);
        _recordKey = _redis.KeyOf(RecordName);
        _redis.Fusion.Set(FusionIntKey(_id), profile);
        _redis.Fusion.Set(FusionRecordKey(_query), profile);

        var executions = Source.Executions;
        foreach (var (name, call) in new (string, Func<Profile>)[]
        {
            (nameof(SyncInt_Raw), SyncInt_Raw),
            (nameof(SyncInt_Cachify), SyncInt_Cachify),
            (nameof(SyncInt_FusionCache), SyncInt_FusionCache),
            (nameof(AsyncInt_Raw), () => AsyncInt_Raw().GetAwaiter().GetResult()),
            (nameof(AsyncInt_Cachify), () => AsyncInt_Cachify().GetAwaiter().GetResult()),
            (nameof(AsyncInt_FusionCache), () => AsyncInt_FusionCache().AsTask().GetAwaiter().GetResult()),
            (nameof(SyncRecord_Raw), SyncRecord_Raw),
            (nameof(SyncRecord_Cachify), SyncRecord_Cachify),
            (nameof(SyncRecord_FusionCache), SyncRecord_FusionCache),
            (nameof(AsyncRecord_Raw), () => AsyncRecord_Raw().GetAwaiter().GetResult()),
            (nameof(AsyncRecord_Cachify), () => AsyncRecord_Cachify().GetAwaiter().GetResult()),
            (nameof(AsyncRecord_FusionCache), () => AsyncRecord_FusionCache().AsTask().GetAwaiter().GetResult()),
        })
        {
            Source.Expect(call(), profile, name);
            _redis.ExpectRoundTrips(name, () => call());
        }

        Source.Expect(Source.Executions, executions, "executions during the hit check (a benchmark measured a miss)");
    }

    [GlobalCleanup]
    public void Cleanup() => _redis.Dispose();

    // ------------------------------------------------------------------ sync, int argument

    [Benchmark(Baseline = true), BenchmarkCategory("SyncInt")]
    public Profile SyncInt_Raw() => Read(_database.StringGet(_intKey));

    [Benchmark, BenchmarkCategory("SyncInt")]
    public Profile SyncInt_Cachify() => _cachifySyncInt.Invoke(_id);

    [Benchmark, BenchmarkCategory("SyncInt")]
    public Profile SyncInt_FusionCache()
    {
        var id = _id;
        return _redis.Fusion.GetOrSet(FusionIntKey(id), _ => Source.LoadProfile(new UserQuery(id, "eu-west")));
    }

    // ------------------------------------------------------------------ async, int argument

    [Benchmark(Baseline = true), BenchmarkCategory("AsyncInt")]
    public async Task<Profile> AsyncInt_Raw() => Read(await _database.StringGetAsync(_intKey).ConfigureAwait(false));

    [Benchmark, BenchmarkCategory("AsyncInt")]
    public Task<Profile> AsyncInt_Cachify() => _cachifyAsyncInt.Invoke(_id);

    [Benchmark, BenchmarkCategory("AsyncInt")]
    public ValueTask<Profile> AsyncInt_FusionCache()
    {
        var id = _id;
        return _redis.Fusion.GetOrSetAsync(FusionIntKey(id), _ => Task.FromResult(Source.LoadProfile(new UserQuery(id, "eu-west"))));
    }

    // ------------------------------------------------------------------ sync, record argument

    [Benchmark(Baseline = true), BenchmarkCategory("SyncRecord")]
    public Profile SyncRecord_Raw() => Read(_database.StringGet(_recordKey));

    [Benchmark, BenchmarkCategory("SyncRecord")]
    public Profile SyncRecord_Cachify() => _cachifySyncRecord.Invoke(_query);

    [Benchmark, BenchmarkCategory("SyncRecord")]
    public Profile SyncRecord_FusionCache()
    {
        var query = _query;
        return _redis.Fusion.GetOrSet(FusionRecordKey(query), _ => Source.LoadProfile(query));
    }

    // ------------------------------------------------------------------ async, record argument

    [Benchmark(Baseline = true), BenchmarkCategory("AsyncRecord")]
    public async Task<Profile> AsyncRecord_Raw() => Read(await _database.StringGetAsync(_recordKey).ConfigureAwait(false));

    [Benchmark, BenchmarkCategory("AsyncRecord")]
    public Task<Profile> AsyncRecord_Cachify() => _cachifyAsyncRecord.Invoke(_query);

    [Benchmark, BenchmarkCategory("AsyncRecord")]
    public ValueTask<Profile> AsyncRecord_FusionCache()
    {
        var query = _query;
        return _redis.Fusion.GetOrSetAsync(FusionRecordKey(query), _ => Task.FromResult(Source.LoadProfile(query)));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>What a hand-written reader of Cachify's entry does: skip the 22-byte envelope header, deserialize the rest.</summary>
    internal static Profile Read(RedisValue raw) => JsonSerializer.Deserialize<Profile>(((ReadOnlyMemory<byte>)raw).Span[RedisFixture.EnvelopeHeaderSize..])!;

    private static string FusionIntKey(int id) => $"profile:{id}";

    private static string FusionRecordKey(UserQuery query) => $"profile:{query.Id}:{query.Region}";
}
