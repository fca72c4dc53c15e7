using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using Microsoft.Extensions.Caching.Memory;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>
/// A cache hit of a synchronous function, per argument shape (one category each): no arguments, one int,
/// three arguments (int, string, Guid) and one record. The floor is a raw
/// <see cref="ConcurrentDictionary{TKey, TValue}.TryGetValue"/> on the same key (the value tuple for three
/// arguments). Peers are called the way their users write them: boxed keys for IMemoryCache, interpolated
/// string keys and a capturing factory lambda for FusionCache and GetOrCreate.
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)] // a hit takes nanoseconds: 100 ms iterations still hold millions of calls, and keep --job short quick
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class HitSyncBenchmarks
{
    private const string AnswerKey = "answer";

    private readonly ConcurrentDictionary<int, int> _dictionaryNone = new();
    private readonly ConcurrentDictionary<int, int> _dictionaryInt = new();
    private readonly ConcurrentDictionary<(int, string, Guid), string> _dictionaryThree = new();
    private readonly ConcurrentDictionary<UserQuery, Profile> _dictionaryRecord = new();

    private readonly int _id = 42;
    private readonly string _region = "eu-west";
    private readonly Guid _tenant = new("6f1c2b4e-8d3a-4f5b-9c7e-1a2b3c4d5e6f");
    private readonly UserQuery _query = new(42, "eu-west");

    private MemoryCacheBackend _backend = null!;
    private CachedFunc<int> _cachifyNone = null!;
    private CachedFunc<int, int> _cachifyInt = null!;
    private CachedFunc<int, string, Guid, string> _cachifyThree = null!;
    private CachedFunc<UserQuery, Profile> _cachifyRecord = null!;

    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;

    private Func<int> _naiveNone = null!;
    private Func<int, int> _naiveInt = null!;
    private Func<int, string, Guid, string> _naiveThree = null!;
    private Func<UserQuery, Profile> _naiveRecord = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Created once; the lambdas capture nothing, so no target enters the key.
        _backend = Backends.Memory();
        _cachifyNone = Cachify.Wrap(() => Source.Answer()).Backend(_backend);
        _cachifyInt = Cachify.Wrap((int id) => Source.Square(id)).Backend(_backend);
        _cachifyThree = Cachify.Wrap((int id, string region, Guid tenant) => Source.Describe(id, region, tenant)).Backend(_backend);
        _cachifyRecord = Cachify.Wrap((UserQuery query) => Source.LoadProfile(query)).Backend(_backend);

        _memory = Peers.NewMemoryCache();
        _fusion = Peers.NewFusionCache();
        _naiveNone = NaiveMemoizer.Memoize(Source.Answer);
        _naiveInt = NaiveMemoizer.Memoize<int, int>(Source.Square);
        _naiveThree = NaiveMemoizer.Memoize<int, string, Guid, string>(Source.Describe);
        _naiveRecord = NaiveMemoizer.Memoize<UserQuery, Profile>(Source.LoadProfile);

        // Warm every cache with the same values.
        var none = Source.Answer();
        var square = Source.Square(_id);
        var described = Source.Describe(_id, _region, _tenant);
        var profile = Source.LoadProfile(_query);

        _dictionaryNone[0] = none;
        _dictionaryInt[_id] = square;
        _dictionaryThree[(_id, _region, _tenant)] = described;
        _dictionaryRecord[_query] = profile;

        _memory.Set(AnswerKey, none, Peers.Lifetime);
        _memory.Set(_id, square, Peers.Lifetime);
        _memory.Set((_id, _region, _tenant), described, Peers.Lifetime);
        _memory.Set(_query, profile, Peers.Lifetime);

        _fusion.Set(AnswerKey, none);
        _fusion.Set($"square:{_id}", square);
        _fusion.Set($"describe:{_id}:{_region}:{_tenant}", described);
        _fusion.Set($"profile:{_query.Id}:{_query.Region}", profile);

        _cachifyNone.Invoke();
        _cachifyInt.Invoke(_id);
        _cachifyThree.Invoke(_id, _region, _tenant);
        _cachifyRecord.Invoke(_query);
        _naiveNone();
        _naiveInt(_id);
        _naiveThree(_id, _region, _tenant);
        _naiveRecord(_query);

        // Every benchmark below must be a hit returning the warmed value.
        var executions = Source.Executions;
        foreach (var (name, actual, expected) in new (string, object?, object)[]
        {
            (nameof(NoArgs_Dictionary), NoArgs_Dictionary(), none),
            (nameof(NoArgs_Cachify), NoArgs_Cachify(), none),
            (nameof(NoArgs_MemoryCacheTryGetValue), NoArgs_MemoryCacheTryGetValue(), none),
            (nameof(NoArgs_MemoryCacheGetOrCreate), NoArgs_MemoryCacheGetOrCreate(), none),
            (nameof(NoArgs_FusionCache), NoArgs_FusionCache(), none),
            (nameof(NoArgs_Naive), NoArgs_Naive(), none),
            (nameof(Int_Dictionary), Int_Dictionary(), square),
            (nameof(Int_Cachify), Int_Cachify(), square),
            (nameof(Int_MemoryCacheTryGetValue), Int_MemoryCacheTryGetValue(), square),
            (nameof(Int_MemoryCacheGetOrCreate), Int_MemoryCacheGetOrCreate(), square),
            (nameof(Int_FusionCache), Int_FusionCache(), square),
            (nameof(Int_Naive), Int_Naive(), square),
            (nameof(ThreeArgs_Dictionary), ThreeArgs_Dictionary(), described),
            (nameof(ThreeArgs_Cachify), ThreeArgs_Cachify(), described),
            (nameof(ThreeArgs_MemoryCacheTryGetValue), ThreeArgs_MemoryCacheTryGetValue(), described),
            (nameof(ThreeArgs_MemoryCacheGetOrCreate), ThreeArgs_MemoryCacheGetOrCreate(), described),
            (nameof(ThreeArgs_FusionCache), ThreeArgs_FusionCache(), described),
            (nameof(ThreeArgs_Naive), ThreeArgs_Naive(), described),
            (nameof(Record_Dictionary), Record_Dictionary(), profile),
            (nameof(Record_Cachify), Record_Cachify(), profile),
            (nameof(Record_MemoryCacheTryGetValue), Record_MemoryCacheTryGetValue(), profile),
            (nameof(Record_MemoryCacheGetOrCreate), Record_MemoryCacheGetOrCreate(), profile),
            (nameof(Record_FusionCache), Record_FusionCache(), profile),
            (nameof(Record_Naive), Record_Naive(), profile),
        })
        {
            Source.Expect(actual, expected, name);
        }

        Source.Expect(Source.Executions, executions, "executions during the hit check (a benchmark measured a miss)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _backend.Dispose();
        _memory.Dispose();
        _fusion.Dispose();
    }

    // ------------------------------------------------------------------ no arguments

    [Benchmark(Baseline = true), BenchmarkCategory("NoArgs")]
    public int NoArgs_Dictionary()
    {
        _dictionaryNone.TryGetValue(0, out var value);
        return value;
    }

    [Benchmark, BenchmarkCategory("NoArgs")]
    public int NoArgs_Cachify() => _cachifyNone.Invoke();

    [Benchmark, BenchmarkCategory("NoArgs")]
    public int NoArgs_MemoryCacheTryGetValue()
    {
        _memory.TryGetValue(AnswerKey, out int value);
        return value;
    }

    [Benchmark, BenchmarkCategory("NoArgs")]
    public int NoArgs_MemoryCacheGetOrCreate() => _memory.GetOrCreate(AnswerKey, _ => Source.Answer());

    [Benchmark, BenchmarkCategory("NoArgs")]
    public int NoArgs_FusionCache() => _fusion.GetOrSet(AnswerKey, _ => Source.Answer());

    [Benchmark, BenchmarkCategory("NoArgs")]
    public int NoArgs_Naive() => _naiveNone();

    // ------------------------------------------------------------------ one int

    [Benchmark(Baseline = true), BenchmarkCategory("Int")]
    public int Int_Dictionary()
    {
        _dictionaryInt.TryGetValue(_id, out var value);
        return value;
    }

    [Benchmark, BenchmarkCategory("Int")]
    public int Int_Cachify() => _cachifyInt.Invoke(_id);

    [Benchmark, BenchmarkCategory("Int")]
    public int Int_MemoryCacheTryGetValue()
    {
        _memory.TryGetValue(_id, out int value);
        return value;
    }

    [Benchmark, BenchmarkCategory("Int")]
    public int Int_MemoryCacheGetOrCreate()
    {
        var id = _id;
        return _memory.GetOrCreate(id, _ => Source.Square(id));
    }

    [Benchmark, BenchmarkCategory("Int")]
    public int Int_FusionCache()
    {
        var id = _id;
        return _fusion.GetOrSet($"square:{id}", _ => Source.Square(id));
    }

    [Benchmark, BenchmarkCategory("Int")]
    public int Int_Naive() => _naiveInt(_id);

    // ------------------------------------------------------------------ three arguments (int, string, Guid)

    [Benchmark(Baseline = true), BenchmarkCategory("ThreeArgs")]
    public string? ThreeArgs_Dictionary()
    {
        _dictionaryThree.TryGetValue((_id, _region, _tenant), out var value);
        return value;
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public string ThreeArgs_Cachify() => _cachifyThree.Invoke(_id, _region, _tenant);

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public string? ThreeArgs_MemoryCacheTryGetValue()
    {
        _memory.TryGetValue((_id, _region, _tenant), out string? value);
        return value;
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public string? ThreeArgs_MemoryCacheGetOrCreate()
    {
        var (id, region, tenant) = (_id, _region, _tenant);
        return _memory.GetOrCreate((id, region, tenant), _ => Source.Describe(id, region, tenant));
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public string ThreeArgs_FusionCache()
    {
        var (id, region, tenant) = (_id, _region, _tenant);
        return _fusion.GetOrSet($"describe:{id}:{region}:{tenant}", _ => Source.Describe(id, region, tenant));
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public string ThreeArgs_Naive() => _naiveThree(_id, _region, _tenant);

    // ------------------------------------------------------------------ one record

    [Benchmark(Baseline = true), BenchmarkCategory("Record")]
    public Profile? Record_Dictionary()
    {
        _dictionaryRecord.TryGetValue(_query, out var value);
        return value;
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Profile Record_Cachify() => _cachifyRecord.Invoke(_query);

    [Benchmark, BenchmarkCategory("Record")]
    public Profile? Record_MemoryCacheTryGetValue()
    {
        _memory.TryGetValue(_query, out Profile? value);
        return value;
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Profile? Record_MemoryCacheGetOrCreate()
    {
        var query = _query;
        return _memory.GetOrCreate(query, _ => Source.LoadProfile(query));
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Profile Record_FusionCache()
    {
        var query = _query;
        return _fusion.GetOrSet($"profile:{query.Id}:{query.Region}", _ => Source.LoadProfile(query));
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Profile Record_Naive() => _naiveRecord(_query);
}
