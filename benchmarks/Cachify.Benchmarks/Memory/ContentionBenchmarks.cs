using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>Which keys the threads read.</summary>
public enum KeyMode
{
    /// <summary>Every thread reads the same entry.</summary>
    SameKey,

    /// <summary>Each thread reads an entry of its own.</summary>
    DifferentKeys,
}

/// <summary>
/// Hits from 1 or 2 threads at once (dedicated threads, released together), on the same key or on a key per
/// thread. Each thread does <see cref="CallsPerThread"/> hits; the time is per hit <b>per thread</b>, so a store
/// without contention shows the same time for 1 and 2 threads and contention shows as growth. With 2 threads on
/// a 2-core machine, other load on the machine shows too: compare against the floor of the same row.
/// <c>Calls/s (all)</c> is the hit throughput of all threads together (threads × 10⁹ / Mean) and
/// <c>Scaling vs 1 thread</c> divides it by the same method's 1-thread throughput (the target: 2 threads on
/// different keys ≥ 1.7).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[IterationTime(200)]
public class ContentionBenchmarks
{
    public const int CallsPerThread = 1 << 20;

    private readonly ConcurrentDictionary<int, int> _dictionary = new();

    private MemoryCacheBackend _backend = null!;
    private CachedFunc<int, int> _cachify = null!;
    private MemoryCache _memory = null!;
    private ThreadGang _gang = null!;
    private Action<int> _dictionaryWork = null!;
    private Action<int> _cachifyWork = null!;
    private Action<int> _memoryWork = null!;
    private long _sink;

    [Params(1, 2)]
    public int Threads { get; set; }

    [Params(KeyMode.SameKey, KeyMode.DifferentKeys)]
    public KeyMode Keys { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backends.Memory();
        _cachify = CachifyNet.Cachify.Wrap((int id) => Source.Square(id)).Backend(_backend);
        _memory = Peers.NewMemoryCache();
        for (var worker = 0; worker < Threads; worker++)
        {
            var key = KeyOf(worker);
            _dictionary[key] = Source.Square(key);
            _memory.Set(key, Source.Square(key), Peers.Lifetime);
            _cachify.Invoke(key);
        }

        _dictionaryWork = worker =>
        {
            var key = KeyOf(worker);
            var dictionary = _dictionary;
            long sum = 0;
            for (var i = 0; i < CallsPerThread; i++)
            {
                dictionary.TryGetValue(key, out var value);
                sum += value;
            }

            Interlocked.Add(ref _sink, sum);
        };

        _cachifyWork = worker =>
        {
            var key = KeyOf(worker);
            var cachify = _cachify;
            long sum = 0;
            for (var i = 0; i < CallsPerThread; i++)
            {
                sum += cachify.Invoke(key);
            }

            Interlocked.Add(ref _sink, sum);
        };

        _memoryWork = worker =>
        {
            var key = KeyOf(worker);
            var memory = _memory;
            long sum = 0;
            for (var i = 0; i < CallsPerThread; i++)
            {
                memory.TryGetValue(key, out int value);
                sum += value;
            }

            Interlocked.Add(ref _sink, sum);
        };

        _gang = new ThreadGang(Threads);

        // The timed loops must be hits only.
        var executions = Source.Executions;
        Cachify();
        Source.Expect(Source.Executions, executions, "executions during the hit check");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _gang.Dispose();
        _backend.Dispose();
        _memory.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = CallsPerThread)]
    public void Dictionary() => _gang.Run(_dictionaryWork);

    [Benchmark(OperationsPerInvoke = CallsPerThread)]
    public void Cachify() => _gang.Run(_cachifyWork);

    [Benchmark(OperationsPerInvoke = CallsPerThread)]
    public void MemoryCacheTryGetValue() => _gang.Run(_memoryWork);

    private int KeyOf(int worker) => Keys == KeyMode.SameKey ? 42 : 42 + worker;

    private sealed class Columns : ManualConfig
    {
        public Columns()
        {
            AddColumn(new ThroughputColumn(
                static benchmarkCase => (int)benchmarkCase.Parameters[nameof(Threads)],
                "Hits per second of all threads together (Threads × 10^9 / Mean)"));
            AddColumn(new ScalingColumn(nameof(Threads)));
        }
    }
}
