using CachifyNet.Internal;

namespace CachifyNet.Tests;

/// <summary>Concurrent callers of one key share one execution; different keys never wait on each other.</summary>
public class StampedeTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void Invoke_ThousandSyncCallersOneKey_RunsOnce()
    {
        const int Callers = 1000;
        var executions = 0;
        CachedFunc<int, int>? f = null;
        f = Cachify.Wrap((int x) =>
        {
            Interlocked.Increment(ref executions);
            // Hold the execution until every caller is inside (each blocked caller holds the key's gate).
            Bounded.Until(() => Locks(f!).Users(KeyOf(f!, x)) >= Callers, "all callers wait");
            return x * 2;
        }).Backend(_fx.Backend);

        var results = RunOnThreads(Callers, () => f.Invoke(21));

        Assert.All(results, v => Assert.Equal(42, v));
        Assert.Equal(1, executions);
    }

    [Fact]
    public async Task Invoke_HundredKeysTimesHundredCallers_RunsOncePerKey()
    {
        var executions = new int[100];
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int key) =>
        {
            Interlocked.Increment(ref executions[key]);
            await release.Task;
            return key;
        }).Backend(_fx.Backend);

        var tasks = (from caller in Enumerable.Range(0, 100) from key in Enumerable.Range(0, 100) select f.Invoke(key)).ToArray();
        release.SetResult();
        var results = await Task.WhenAll(tasks).Within("every caller got its key's value");

        Assert.All(executions, count => Assert.Equal(1, count));
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 100, results[i]);
        }
    }

    [Fact]
    public void Invoke_SyncHundredKeysTimesHundredCallers_RunsOncePerKey()
    {
        // Four groups of a hundred threads; group g calls keys g, g + 4, g + 8, ... in turn, so four keys run at once
        // and every key has a hundred callers. Each key's execution holds until all of its group's callers wait in
        // the key's gate: every caller but one joins the running execution (none can arrive late and get a hit).
        const int Groups = 4;
        const int CallersPerKey = 100;
        const int KeyCount = 100;
        var executions = new int[KeyCount];
        CachedFunc<int, int>? f = null;
        f = Cachify.Wrap((int key) =>
        {
            Interlocked.Increment(ref executions[key]);
            Bounded.Until(() => Locks(f!).Users(KeyOf(f!, key)) >= CallersPerKey, $"the callers of key {key} wait");
            return key;
        }).Backend(_fx.Backend);

        var results = RunOnThreads(Groups * CallersPerKey, thread =>
        {
            var seen = new List<int>();
            for (var key = thread % Groups; key < KeyCount; key += Groups)
            {
                seen.Add(f.Invoke(key));
            }

            return seen;
        });

        Assert.All(executions, count => Assert.Equal(1, count));
        Assert.All(results, (seen, thread) => Assert.Equal(Enumerable.Range(0, KeyCount).Where(k => k % Groups == thread % Groups), seen));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Invoke_SyncExecutionThrows_EveryWaiterGetsTheException()
    {
        const int Callers = 50;
        var executions = 0;
        CachedFunc<int, int>? f = null;
        f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref executions);
            if (n == 1)
            {
                Bounded.Until(() => Locks(f!).Users(KeyOf(f!, x)) >= Callers, "all callers wait");
                throw new TimeoutException("dependency down");
            }

            return n;
        }).Backend(_fx.Backend);

        var errors = RunOnThreads(Callers, () =>
        {
            try
            {
                f.Invoke(1);
                return null;
            }
            catch (TimeoutException e)
            {
                return e;
            }
        });

        Assert.All(errors, e => Assert.Equal("dependency down", e?.Message));
        Assert.Equal(1, executions);
        Assert.Equal(2, f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task LockTable_AfterHundredThousandDistinctKeys_IsEmpty()
    {
        var f = Cachify.Wrap((int key) => key).Backend(_fx.Backend);
        var g = Cachify.Wrap((int key) => Task.FromResult(key)).Backend(_fx.Backend);

        Parallel.For(0, 100_000, i => f.Invoke(i));
        for (var i = 0; i < 100_000; i++)
        {
            await g.Invoke(i);
        }

        Assert.Equal(0, Internals.Keyspace(f.CurrentBinding).Locks.Count);
        Assert.Equal(0, Internals.Keyspace(g.CurrentBinding).Locks.Count);
        Assert.Equal(100_000, Internals.Keyspace(f.CurrentBinding).Count);
    }

    // The lambdas of these tests capture: their keys hold the closure's key.
    private static AsyncKeyedLock<TargetedKey<ArgsKey<int>>, int> Locks(CachedFunc<int, int> f) => Internals.Keyspace(f.CurrentTargetedBinding).Locks;

    private static TargetedKey<ArgsKey<int>> KeyOf(CachedFunc<int, int> f, int x) => new(f.Self, new(x));

    private static T[] RunOnThreads<T>(int count, Func<T> body) => RunOnThreads(count, _ => body());

    /// <summary>Runs <paramref name="body"/> on <paramref name="count"/> threads released together; rethrows what a thread threw.</summary>
    private static T[] RunOnThreads<T>(int count, Func<int, T> body)
    {
        var results = new T[count];
        var errors = new Exception?[count];
        using var start = new Barrier(count);
        var threads = Enumerable.Range(0, count).Select(i => new Thread(() =>
        {
            try
            {
                // A thread left waiting past the deadline starts anyway; the bounded join below reports a hang.
                start.SignalAndWait(Bounded.Deadline);
                results[i] = body(i);
            }
            catch (Exception error)
            {
                errors[i] = error;
            }
        }, maxStackSize: 256 * 1024) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        Bounded.JoinAll(threads, $"the {count} calling threads returned");
        if (errors.FirstOrDefault(e => e is not null) is { } first)
        {
            throw new InvalidOperationException("A calling thread threw.", first);
        }

        return results;
    }
}
