namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Dedicated threads, started once, that run a piece of work together each time <see cref="Run"/> is called
/// and wait for the next round in between, so a benchmark measures the work and not thread start-up.
/// </summary>
public sealed class ThreadGang : IDisposable
{
    private readonly Barrier _barrier;
    private readonly Thread[] _threads;
    private Action<int> _work = static _ => { };
    private volatile bool _stopping;

    public ThreadGang(int threads)
    {
        _barrier = new Barrier(threads + 1);
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(static state => ((WorkerStart)state!).Gang.Loop(((WorkerStart)state!).Index))
            {
                IsBackground = true,
                Name = "bench worker " + i,
            };
            _threads[i].Start(new WorkerStart(this, i));
        }
    }

    public int Count => _threads.Length;

    /// <summary>Runs <paramref name="work"/>(worker index) on every thread at once; returns when all are done.</summary>
    public void Run(Action<int> work)
    {
        _work = work;
        _barrier.SignalAndWait(); // start
        _barrier.SignalAndWait(); // done
    }

    public void Dispose()
    {
        _stopping = true;
        _barrier.SignalAndWait();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _barrier.Dispose();
    }

    private void Loop(int index)
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stopping)
            {
                return;
            }

            _work(index);
            _barrier.SignalAndWait();
        }
    }

    private sealed record WorkerStart(ThreadGang Gang, int Index);
}
