using System.Diagnostics;
using CachifyNet.Internal;
using Xunit.Abstractions;

namespace CachifyNet.Tests.Reliability;

/// <summary>
/// Mixed load on the memory backend: 8 threads × 100,000 calls over 10,000 keys, sync and async wrappers of one
/// function sharing entries, random TTLs (one group never-die), skip-caches, invalidations and clears, while a fake
/// clock moves on. Every value is checked against the pure function of its key, its age against the TTL, and the
/// executions of each key against what expiries, skip-caches, invalidations and clears explain.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(nameof(MemoryMeasurements))]
public class LoadTests(ITestOutputHelper output)
{
    private const int Workers = 8;
    private const int CallsPerWorker = 100_000;
    private const int Keys = 10_000;
    private const int Groups = 8;
    private const int NeverDieGroup = 7;

    /// <summary>The fake clock moves this much every <see cref="CallsPerStep"/> calls (so about 4 s in a run).</summary>
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(5);
    private const int CallsPerStep = 1_000;

    /// <summary>How far past its TTL a value may be served: a few clock steps, for the races between a read, an Advance and the expiry it fires.</summary>
    private static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a load may take: the mixed load takes 1-3 s on a 2-core machine, also under a load average of 19, and
    /// each run of the million keys under 10 s. One that needs 20 times longer has degenerated (a convoy, a scan per
    /// call); one that never ends fails here too.
    /// </summary>
    private static readonly TimeSpan LoadBudget = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Invoke_EightThreadsMixedLoadOverTenThousandKeys_EveryValueRightAndExecutionsExplained()
    {
        using var fx = new MemoryFixture();
        var random = new Random(20260101);
        var ttls = Enumerable.Range(0, Groups).Select(_ => TimeSpan.FromMilliseconds(random.Next(50, 2_000))).ToArray();
        var executions = new int[Keys];
        var skips = new int[Keys];
        var invalidations = new int[Keys];
        var clears = new int[Groups];
        var wrong = new List<string>();
        var time = fx.Time;

        Value Compute(int key)
        {
            Interlocked.Increment(ref executions[key]);
            return new Value(key, Check(key), time.GetTimestamp());
        }

        async Task<Value> ComputeAsync(int key)
        {
            if ((key & 1) == 0)
            {
                await Task.Yield(); // a real asynchronous execution: callers join while it runs
            }

            return Compute(key);
        }

        var sync = new CachedFunc<int, Value>[Groups];
        var async = new AsyncCachedFunc<int, Value>[Groups];
        for (var g = 0; g < Groups; g++)
        {
            // A sync and an async wrapper of one named function: they share entries and executions.
            sync[g] = Cachify.Wrap((int key) => Compute(key)).Named($"load.{g}").Ttl(ttls[g]).Backend(fx.Backend);
            async[g] = Cachify.Wrap((int key) => ComputeAsync(key)).Named($"load.{g}").Ttl(ttls[g]).Backend(fx.Backend);
            if (g == NeverDieGroup)
            {
                sync[g] = sync[g].NeverDie();
                async[g] = async[g].NeverDie();
            }
        }

        var calls = 0L;
        var start = time.GetTimestamp();
        using var barrier = new Barrier(Workers);
        var watch = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Workers).Select(w => new Thread(() =>
        {
            var rnd = new Random(w);
            barrier.SignalAndWait(Bounded.Deadline); // past the deadline a worker starts anyway
            for (var i = 0; i < CallsPerWorker; i++)
            {
                var key = rnd.Next(Keys);
                var group = key % Groups;
                var roll = rnd.Next(1000);
                if (roll < 5)
                {
                    Interlocked.Increment(ref invalidations[key]);
                    if (rnd.Next(2) == 0)
                    {
                        sync[group].Invalidate(key);
                    }
                    else
                    {
                        async[group].InvalidateAsync(key).AsTask().GetAwaiter().GetResult();
                    }

                    continue;
                }

                if (roll == 5 && rnd.Next(50) == 0)
                {
                    Interlocked.Increment(ref clears[group]);
                    sync[group].Clear();
                    continue;
                }

                var skip = roll < 30;
                if (skip)
                {
                    Interlocked.Increment(ref skips[key]);
                }

                var before = time.GetTimestamp();
                var value = rnd.Next(2) == 0
                    ? sync[group].Invoke(key, skip)
                    : async[group].Invoke(key, skip).GetAwaiter().GetResult();
                var maxAge = (group == NeverDieGroup ? ttls[group] * 2 : ttls[group]) + Slack;
                if (value.Key != key || value.Check != Check(key) || time.GetElapsedTime(value.ComputedAt, before) > maxAge)
                {
                    lock (wrong)
                    {
                        wrong.Add($"key {key}: got {value}, asked at {time.GetElapsedTime(start, before)}");
                    }
                }

                if (Interlocked.Increment(ref calls) % CallsPerStep == 0)
                {
                    time.Advance(Step);
                }
            }
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        Bounded.JoinAll(threads, $"the workers made their calls within {LoadBudget}", LoadBudget);
        watch.Stop();
        await fx.RefreshesDone();

        var elapsed = time.GetElapsedTime(start);
        output.WriteLine($"{Workers * CallsPerWorker:N0} calls in {watch.Elapsed.TotalSeconds:F1} s, {elapsed.TotalSeconds:F1} s of fake time, TTLs {string.Join("/", ttls.Select(t => (int)t.TotalMilliseconds))} ms; " +
            $"{executions.Sum():N0} executions, {skips.Sum():N0} skip-caches, {invalidations.Sum():N0} invalidations, {clears.Sum()} clears; {wrong.Count} wrong values");
        Assert.Empty(wrong);
        var unexplained = new List<string>();
        for (var key = 0; key < Keys; key++)
        {
            var group = key % Groups;
            var expiries = (int)(elapsed.Ticks / ttls[group].Ticks);
            var bound = 1 + skips[key] + invalidations[key] + clears[group] + expiries;
            if (executions[key] > bound)
            {
                unexplained.Add($"key {key}: {executions[key]} executions > 1 + {skips[key]} skips + {invalidations[key]} invalidations + {clears[group]} clears + {expiries} expiries");
            }
        }

        Assert.Empty(unexplained);
        Assert.True(executions.Sum() >= Keys / 2, "the load ran the function"); // sanity: the bound was not trivially met
        for (var g = 0; g < Groups; g++)
        {
            Assert.Equal(0, Internals.Keyspace(sync[g].CurrentTargetedBinding).Locks.Count);
        }

        // Every entry still held is scheduled exactly once (its expiry or refresh): no dead registrations.
        var held = Enumerable.Range(0, Groups).Sum(g => Internals.Keyspace(sync[g].CurrentTargetedBinding).Count);
        Assert.Equal(held, fx.ScheduledEntries);
    }

    [Fact]
    public async Task Invoke_MillionDistinctKeysUnderSizeLimit_MemorySettlesAndNothingDeadIsKept()
    {
        const int SizeLimit = 10_000;
        const int Total = 1_000_000;
        const int Warmup = 250_000;
        using var fx = new MemoryFixture(sizeLimit: SizeLimit);
        var ttl = TimeSpan.FromMinutes(1);
        var neverDieTtl = TimeSpan.FromSeconds(30);
        var plain = Cachify.Wrap((int key) => new Value(key, Check(key), 0)).Ttl(ttl).Backend(fx.Backend);
        var neverDie = Cachify.Wrap((int key) => Task.FromResult(new Value(key, Check(key), 0))).Ttl(neverDieTtl).NeverDie().Backend(fx.Backend);
        var next = 0;
        var wrong = 0;

        void Run(int until)
        {
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                int key;
                while ((key = Interlocked.Increment(ref next)) <= until)
                {
                    var value = (key & 1) == 0 ? plain.Invoke(key) : neverDie.Invoke(key).GetAwaiter().GetResult();
                    if (value.Key != key || value.Check != Check(key))
                    {
                        Interlocked.Increment(ref wrong);
                    }

                    if (key % 10_000 == 0)
                    {
                        // 100 ms of fake time: the sweep that follows a rejected insert runs (it would on the system clock).
                        fx.Advance(MemorySweeper.AfterPressure);
                    }
                }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            Bounded.JoinAll(threads, $"the callers reached key {until:N0}", LoadBudget);
        }

        Run(Warmup);
        var (heapWarm, workingSetWarm) = Measure();
        Run(Total);
        var (heapEnd, workingSetEnd) = Measure();

        // Past the never-die TTL: registrations of entries the size limit evicted are dropped at their due time.
        fx.Advance(neverDieTtl);
        await fx.RefreshesDone();

        // The cache compacts on the thread pool after an insert over its size limit, so a compaction that is late (the
        // refreshes above insert too) removes entries after a sweep, and the front keeps them until the next one. Sweep
        // until the front and the scheduler hold what the cache holds, read in one pass (a dead entry kept never lets
        // them agree: the assertions below then fail with the counts).
        var plainSpace = Internals.Keyspace(plain.CurrentBinding);
        var neverDieSpace = Internals.Keyspace(neverDie.CurrentBinding);
        (int Cache, int Front, int Scheduled) held;
        var settling = Stopwatch.StartNew();
        do
        {
            fx.Backend.Sweep();
            held = (fx.Cache.Count, plainSpace.Count + neverDieSpace.Count, fx.ScheduledEntries);
        }
        while ((held.Front != held.Cache || held.Scheduled != held.Front) && settling.Elapsed < Bounded.Deadline);

        output.WriteLine($"{Total:N0} distinct keys, SizeLimit {SizeLimit:N0}: GC heap {heapWarm / 1e6:F1} MB after {Warmup:N0} keys, {heapEnd / 1e6:F1} MB after {Total:N0}; " +
            $"working set {workingSetWarm / 1e6:F0} MB -> {workingSetEnd / 1e6:F0} MB; cache {held.Cache:N0} entries, front {held.Front:N0}, " +
            $"scheduled {held.Scheduled:N0}, never-die {neverDieSpace.Count:N0}, lock table {plainSpace.Locks.Count + neverDieSpace.Locks.Count}");

        Assert.Equal(0, wrong);
        Assert.True(held.Cache <= SizeLimit);
        Assert.Equal(held.Cache, held.Front);     // the front holds only what the cache holds
        Assert.Equal(held.Front, held.Scheduled); // one expiry or refresh per live entry, none dead
        Assert.Equal(0, plainSpace.Locks.Count);
        Assert.Equal(0, neverDieSpace.Locks.Count);

        // 750,000 more keys add nothing that stays: the heap settles (generous bounds; 10,000 entries are about 3 MB).
        Assert.True(heapEnd - heapWarm < 16_000_000, $"GC heap grew from {heapWarm:N0} to {heapEnd:N0} bytes");
        Assert.True(workingSetEnd - workingSetWarm < 64_000_000, $"working set grew from {workingSetWarm:N0} to {workingSetEnd:N0} bytes");
    }

    [Fact]
    public void Sweep_RacingWithStores_LeavesNoEntryInTheCacheThatTheFrontLost()
    {
        // Found by the million-keys test: a sweep that ran between an entry's insertion in the front and in the
        // IMemoryCache took it for evicted, and the insertion then left it in the cache for good (no expiry of its own).
        using var fx = new MemoryFixture();
        var f = Cachify.Wrap((int key) => key).Ttl(TimeSpan.FromMinutes(1)).Backend(fx.Backend);
        var stop = false;
        var sweeper = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                fx.Backend.Sweep();
            }
        }) { IsBackground = true };
        sweeper.Start();
        try
        {
            Parallel.For(0, 200_000, new ParallelOptions { MaxDegreeOfParallelism = 2 }, key => f.Invoke(key));
        }
        finally
        {
            Volatile.Write(ref stop, true);
        }

        Bounded.Join(sweeper, "the sweeper stopped");

        fx.Backend.Sweep();
        Assert.Equal(Internals.Keyspace(f.CurrentBinding).Count, fx.Cache.Count);
        Assert.Equal(fx.Cache.Count, fx.ScheduledEntries);
    }

    private static (long Heap, long WorkingSet) Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();

        // Aggressive: the GC also returns the memory it keeps for later allocations, so the working set reflects what
        // is live (managed and native), not how much free memory this GC configuration retains.
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        using var process = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: false), process.WorkingSet64);
    }

    private static long Check(int key) => (key * 2654435761L) ^ 0x5DEECE66DL;

    public sealed record Value(int Key, long Check, long ComputedAt);
}

/// <summary>Tests that measure the process (memory, timing under load) run alone in this assembly.</summary>
[CollectionDefinition(nameof(MemoryMeasurements), DisableParallelization = true)]
public sealed class MemoryMeasurements;
