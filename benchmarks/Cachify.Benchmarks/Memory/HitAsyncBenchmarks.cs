using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>
/// A cache hit of an asynchronous function (<see cref="Task{TResult}"/>), per argument shape (one category
/// each), as in <see cref="HitSyncBenchmarks"/>. The floor is a <see cref="ConcurrentDictionary{TKey, TValue}"/>
/// of completed tasks. Each benchmark returns the task or value task the API returns, so nothing extra is
/// awaited; BenchmarkDotNet consumes it.
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)] // a hit takes nanoseconds: 100 ms iterations still hold millions of calls, and keep --job short quick
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class HitAsyncBenchmarks
{
    private const string AnswerKey = "answer";

    private readonly ConcurrentDictionary<int, Task<int>> _dictionaryNone = new();
    private readonly ConcurrentDictionary<int, Task<int>> _dictionaryInt = new();
    private readonly ConcurrentDictionary<(int, string, Guid), Task<string>> _dictionaryThree = new();
    private readonly ConcurrentDictionary<UserQuery, Task<Profile>> _dictionaryRecord = new();

    private readonly int _id = 42;
    private readonly string _region = "eu-west";
    private readonly Guid _tenant = new("6f1c2b4e-8d3a-4f5b-9c7e-1a2b3c4d5e6f");
    private readonly UserQuery _query = new(42, "eu-west");

    private MemoryCacheBackend _backend = null!;
    private AsyncCachedFunc<int> _cachifyNone = null!;
    private AsyncCachedFunc<int, int> _cachifyInt = null!;
    private CancellableAsyncCachedFunc<int, int> _cachifyIntToken = null!;
    private readonly CancellationTokenSource _cts = new();
    private AsyncCachedFunc<int, string, Guid, string> _cachifyThree = null!;
    private AsyncCachedFunc<UserQuery, Profile> _cachifyRecord = null!;

    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;
    private HybridCache _hybrid = null!;
    private ServiceProvider _services = null!;

    private Func<Task<int>> _naiveNone = null!;
    private Func<int, Task<int>> _naiveInt = null!;
    private Func<int, string, Guid, Task<string>> _naiveThree = null!;
    private Func<UserQuery, Task<Profile>> _naiveRecord = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Created once; the lambdas capture nothing, so no target enters the key.
        _backend = Backends.Memory();
        _cachifyNone = Cachify.Wrap(() => Task.FromResult(Source.Answer())).Backend(_backend);
        _cachifyInt = Cachify.Wrap((int id) => Task.FromResult(Source.Square(id))).Backend(_backend);
        _cachifyIntToken = Cachify.Wrap((int id, CancellationToken ct) => Task.FromResult(Source.Square(id))).Backend(_backend);
        _cachifyThree = Cachify.Wrap((int id, string region, Guid tenant) => Task.FromResult(Source.Describe(id, region, tenant))).Backend(_backend);
        _cachifyRecord = Cachify.Wrap((UserQuery query) => Task.FromResult(Source.LoadProfile(query))).Backend(_backend);

        _memory = Peers.NewMemoryCache();
        _fusion = Peers.NewFusionCache();
        (_hybrid, _services) = Peers.NewHybridCache();
        _naiveNone = NaiveMemoizer.Memoize(() => Task.FromResult(Source.Answer()));
        _naiveInt = NaiveMemoizer.Memoize((int id) => Task.FromResult(Source.Square(id)));
        _naiveThree = NaiveMemoizer.Memoize((int id, string region, Guid tenant) => Task.FromResult(Source.Describe(id, region, tenant)));
        _naiveRecord = NaiveMemoizer.Memoize((UserQuery query) => Task.FromResult(Source.LoadProfile(query)));

        // Warm every cache with the same values.
        var none = Source.Answer();
        var square = Source.Square(_id);
        var described = Source.Describe(_id, _region, _tenant);
        var profile = Source.LoadProfile(_query);

        _dictionaryNone[0] = Task.FromResult(none);
        _dictionaryInt[_id] = Task.FromResult(square);
        _dictionaryThree[(_id, _region, _tenant)] = Task.FromResult(described);
        _dictionaryRecord[_query] = Task.FromResult(profile);

        _memory.Set(AnswerKey, none, Peers.Lifetime);
        _memory.Set(_id, square, Peers.Lifetime);
        _memory.Set((_id, _region, _tenant), described, Peers.Lifetime);
        _memory.Set(_query, profile, Peers.Lifetime);

        _fusion.Set(AnswerKey, none);
        _fusion.Set($"square:{_id}", square);
        _fusion.Set($"describe:{_id}:{_region}:{_tenant}", described);
        _fusion.Set($"profile:{_query.Id}:{_query.Region}", profile);

        _hybrid.SetAsync(AnswerKey, none).AsTask().GetAwaiter().GetResult();
        _hybrid.SetAsync($"square:{_id}", square).AsTask().GetAwaiter().GetResult();
        _hybrid.SetAsync($"describe:{_id}:{_region}:{_tenant}", described).AsTask().GetAwaiter().GetResult();
        _hybrid.SetAsync($"profile:{_query.Id}:{_query.Region}", profile).AsTask().GetAwaiter().GetResult();

        _cachifyNone.Invoke().GetAwaiter().GetResult();
        _cachifyInt.Invoke(_id).GetAwaiter().GetResult();
        _cachifyIntToken.Invoke(_id, _cts.Token).GetAwaiter().GetResult();
        _cachifyThree.Invoke(_id, _region, _tenant).GetAwaiter().GetResult();
        _cachifyRecord.Invoke(_query).GetAwaiter().GetResult();
        _naiveNone().GetAwaiter().GetResult();
        _naiveInt(_id).GetAwaiter().GetResult();
        _naiveThree(_id, _region, _tenant).GetAwaiter().GetResult();
        _naiveRecord(_query).GetAwaiter().GetResult();

        // Every benchmark below must be a hit returning the warmed value, synchronously.
        var executions = Source.Executions;
        foreach (var (name, actual, expected) in new (string, object?, object)[]
        {
            (nameof(NoArgs_Dictionary), Completed(NoArgs_Dictionary()), none),
            (nameof(NoArgs_Cachify), Completed(NoArgs_Cachify()), none),
            (nameof(NoArgs_MemoryCacheGetOrCreateAsync), Completed(NoArgs_MemoryCacheGetOrCreateAsync()), none),
            (nameof(NoArgs_FusionCache), Completed(NoArgs_FusionCache()), none),
            (nameof(NoArgs_HybridCache), Completed(NoArgs_HybridCache()), none),
            (nameof(NoArgs_Naive), Completed(NoArgs_Naive()), none),
            (nameof(Int_Dictionary), Completed(Int_Dictionary()), square),
            (nameof(Int_Cachify), Completed(Int_Cachify()), square),
            (nameof(Int_MemoryCacheGetOrCreateAsync), Completed(Int_MemoryCacheGetOrCreateAsync()), square),
            (nameof(Int_FusionCache), Completed(Int_FusionCache()), square),
            (nameof(Int_HybridCache), Completed(Int_HybridCache()), square),
            (nameof(Int_Naive), Completed(Int_Naive()), square),
            (nameof(ThreeArgs_Dictionary), Completed(ThreeArgs_Dictionary()), described),
            (nameof(ThreeArgs_Cachify), Completed(ThreeArgs_Cachify()), described),
            (nameof(ThreeArgs_MemoryCacheGetOrCreateAsync), Completed(ThreeArgs_MemoryCacheGetOrCreateAsync()), described),
            (nameof(ThreeArgs_FusionCache), Completed(ThreeArgs_FusionCache()), described),
            (nameof(ThreeArgs_HybridCache), Completed(ThreeArgs_HybridCache()), described),
            (nameof(ThreeArgs_Naive), Completed(ThreeArgs_Naive()), described),
            (nameof(Record_Dictionary), Completed(Record_Dictionary()), profile),
            (nameof(Record_Cachify), Completed(Record_Cachify()), profile),
            (nameof(Record_MemoryCacheGetOrCreateAsync), Completed(Record_MemoryCacheGetOrCreateAsync()), profile),
            (nameof(Record_FusionCache), Completed(Record_FusionCache()), profile),
            (nameof(Record_HybridCache), Completed(Record_HybridCache()), profile),
            (nameof(Record_Naive), Completed(Record_Naive()), profile),
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
        _cts.Dispose();
        _memory.Dispose();
        _fusion.Dispose();
        _services.Dispose();
    }

    // ------------------------------------------------------------------ no arguments

    [Benchmark(Baseline = true), BenchmarkCategory("NoArgs")]
    public Task<int> NoArgs_Dictionary()
    {
        _dictionaryNone.TryGetValue(0, out var value);
        return value!;
    }

    [Benchmark, BenchmarkCategory("NoArgs")]
    public Task<int> NoArgs_Cachify() => _cachifyNone.Invoke();

    [Benchmark, BenchmarkCategory("NoArgs")]
    public Task<int> NoArgs_MemoryCacheGetOrCreateAsync() => _memory.GetOrCreateAsync(AnswerKey, _ => Task.FromResult(Source.Answer()));

    [Benchmark, BenchmarkCategory("NoArgs")]
    public ValueTask<int> NoArgs_FusionCache() => _fusion.GetOrSetAsync(AnswerKey, _ => Task.FromResult(Source.Answer()));

    [Benchmark, BenchmarkCategory("NoArgs")]
    public ValueTask<int> NoArgs_HybridCache() => _hybrid.GetOrCreateAsync(AnswerKey, _ => ValueTask.FromResult(Source.Answer()));

    [Benchmark, BenchmarkCategory("NoArgs")]
    public Task<int> NoArgs_Naive() => _naiveNone();

    // ------------------------------------------------------------------ one int

    [Benchmark(Baseline = true), BenchmarkCategory("Int")]
    public Task<int> Int_Dictionary()
    {
        _dictionaryInt.TryGetValue(_id, out var value);
        return value!;
    }

    [Benchmark, BenchmarkCategory("Int")]
    public Task<int> Int_Cachify() => _cachifyInt.Invoke(_id);

    /// <summary>A function with a trailing <see cref="CancellationToken"/>, called with a cancellable token.</summary>
    [Benchmark, BenchmarkCategory("Int")]
    public Task<int> Int_CachifyWithToken() => _cachifyIntToken.Invoke(_id, _cts.Token);

    [Benchmark, BenchmarkCategory("Int")]
    public Task<int> Int_MemoryCacheGetOrCreateAsync()
    {
        var id = _id;
        return _memory.GetOrCreateAsync(id, _ => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("Int")]
    public ValueTask<int> Int_FusionCache()
    {
        var id = _id;
        return _fusion.GetOrSetAsync($"square:{id}", _ => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("Int")]
    public ValueTask<int> Int_HybridCache()
    {
        var id = _id;
        return _hybrid.GetOrCreateAsync($"square:{id}", _ => ValueTask.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("Int")]
    public Task<int> Int_Naive() => _naiveInt(_id);

    // ------------------------------------------------------------------ three arguments (int, string, Guid)

    [Benchmark(Baseline = true), BenchmarkCategory("ThreeArgs")]
    public Task<string> ThreeArgs_Dictionary()
    {
        _dictionaryThree.TryGetValue((_id, _region, _tenant), out var value);
        return value!;
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public Task<string> ThreeArgs_Cachify() => _cachifyThree.Invoke(_id, _region, _tenant);

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public Task<string?> ThreeArgs_MemoryCacheGetOrCreateAsync()
    {
        var (id, region, tenant) = (_id, _region, _tenant);
        return _memory.GetOrCreateAsync((id, region, tenant), _ => Task.FromResult(Source.Describe(id, region, tenant)));
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public ValueTask<string> ThreeArgs_FusionCache()
    {
        var (id, region, tenant) = (_id, _region, _tenant);
        return _fusion.GetOrSetAsync($"describe:{id}:{region}:{tenant}", _ => Task.FromResult(Source.Describe(id, region, tenant)));
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public ValueTask<string> ThreeArgs_HybridCache()
    {
        var (id, region, tenant) = (_id, _region, _tenant);
        return _hybrid.GetOrCreateAsync($"describe:{id}:{region}:{tenant}", _ => ValueTask.FromResult(Source.Describe(id, region, tenant)));
    }

    [Benchmark, BenchmarkCategory("ThreeArgs")]
    public Task<string> ThreeArgs_Naive() => _naiveThree(_id, _region, _tenant);

    // ------------------------------------------------------------------ one record

    [Benchmark(Baseline = true), BenchmarkCategory("Record")]
    public Task<Profile> Record_Dictionary()
    {
        _dictionaryRecord.TryGetValue(_query, out var value);
        return value!;
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Task<Profile> Record_Cachify() => _cachifyRecord.Invoke(_query);

    [Benchmark, BenchmarkCategory("Record")]
    public Task<Profile?> Record_MemoryCacheGetOrCreateAsync()
    {
        var query = _query;
        return _memory.GetOrCreateAsync(query, _ => Task.FromResult(Source.LoadProfile(query)));
    }

    [Benchmark, BenchmarkCategory("Record")]
    public ValueTask<Profile> Record_FusionCache()
    {
        var query = _query;
        return _fusion.GetOrSetAsync($"profile:{query.Id}:{query.Region}", _ => Task.FromResult(Source.LoadProfile(query)));
    }

    [Benchmark, BenchmarkCategory("Record")]
    public ValueTask<Profile> Record_HybridCache()
    {
        var query = _query;
        return _hybrid.GetOrCreateAsync($"profile:{query.Id}:{query.Region}", _ => ValueTask.FromResult(Source.LoadProfile(query)));
    }

    [Benchmark, BenchmarkCategory("Record")]
    public Task<Profile> Record_Naive() => _naiveRecord(_query);

    /// <summary>The result of a task that must already be complete (a hit never waits).</summary>
    private static T Completed<T>(Task<T> task)
        => task.IsCompletedSuccessfully ? task.Result : throw new InvalidOperationException("A hit returned a task that is not complete.");

    private static T Completed<T>(ValueTask<T> task)
        => task.IsCompletedSuccessfully ? task.Result : throw new InvalidOperationException("A hit returned a value task that is not complete.");
}
