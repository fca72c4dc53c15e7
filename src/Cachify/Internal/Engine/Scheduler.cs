using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>
/// One scheduler per backend for every timed item: expiry of TTL entries and refresh of never-die
/// entries. An indexed min-heap with one wake-up source, so there is no timer or thread per entry.
/// </summary>
/// <remarks>
/// With <see cref="TimeProvider.System"/> the scheduler waits on a dedicated background thread, so
/// entries expire on time even when the thread pool is starved (a thread-pool timer would fire late and
/// serve values past their TTL). The thread exits after a minute with nothing scheduled. With any other
/// provider (such as <c>FakeTimeProvider</c> in tests) it uses the provider's timer.
/// </remarks>
internal sealed class Scheduler : IDisposable
{
    private static readonly TimeSpan IdleExit = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _lock = new();
    private readonly bool _ownThread;
    private readonly ITimer? _timer;
    private readonly object _timerLock = new();
    private ScheduledItem[] _heap = new ScheduledItem[16];
    private int _count;
    private int _housekeeping;
    private bool _disposed;
    private bool _threadRunning;
    private long _timerDue = long.MaxValue;

    public Scheduler(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
        _ownThread = ReferenceEquals(time, TimeProvider.System);
        if (!_ownThread)
        {
            _timer = time.CreateTimer(static state => ((Scheduler)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Scheduled entries: TTL expiries and never-die refreshes, without the backend's upkeep (the cachify.scheduled.count gauge).</summary>
    public int EntryCount
    {
        get
        {
            lock (_lock)
            {
                return _count - _housekeeping;
            }
        }
    }

    public long Now => _time.GetTimestamp();

    /// <summary>Schedules (or moves) <paramref name="item"/> to <paramref name="due"/>.</summary>
    public void Schedule(ScheduledItem item, long due)
    {
        bool wake;
        lock (_lock)
        {
            if (_disposed || item.IsDead)
            {
                return;
            }

            item.Due = due;
            if (item.HeapIndex >= 0)
            {
                Fix(item.HeapIndex);
            }
            else
            {
                Push(item);
            }

            wake = _heap[0] == item;
            if (wake && _ownThread)
            {
                if (_threadRunning)
                {
                    Monitor.Pulse(_lock);
                }
                else
                {
                    _threadRunning = true;

                    // The thread serves every caller: it must not carry the first caller's ExecutionContext (activity, log scopes).
                    using (ExecutionContext.SuppressFlow())
                    {
                        new Thread(static state => ((Scheduler)state!).RunThread()) { IsBackground = true, Name = "Cachify scheduler" }.Start(this);
                    }
                }

                return;
            }
        }

        if (wake)
        {
            ArmTimer();
        }
    }

    /// <summary>Schedules <paramref name="item"/> at <paramref name="due"/> unless it is already due earlier.</summary>
    public void ScheduleNoLaterThan(ScheduledItem item, long due)
    {
        lock (_lock)
        {
            if (item.HeapIndex >= 0 && item.Due <= due)
            {
                return;
            }
        }

        Schedule(item, due);
    }

    public void Unschedule(ScheduledItem item)
    {
        lock (_lock)
        {
            if (item.HeapIndex >= 0)
            {
                RemoveAt(item.HeapIndex);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            for (var i = 0; i < _count; i++)
            {
                _heap[i].HeapIndex = -1;
            }

            Array.Clear(_heap);
            _count = 0;
            _housekeeping = 0;
            Monitor.PulseAll(_lock);
        }

        _timer?.Dispose();
    }

    private void RunThread()
    {
        while (true)
        {
            List<ScheduledItem>? due;
            lock (_lock)
            {
                while (true)
                {
                    if (_disposed)
                    {
                        _threadRunning = false;
                        return;
                    }

                    if (_count == 0)
                    {
                        if (!Monitor.Wait(_lock, IdleExit) && _count == 0)
                        {
                            _threadRunning = false;
                            return;
                        }

                        continue;
                    }

                    var wait = _heap[0].Due - Now;
                    if (wait <= 0)
                    {
                        break;
                    }

                    Monitor.Wait(_lock, ToMilliseconds(wait));
                }

                due = PopDue();
            }

            Run(due);
        }
    }

    private void OnTimer()
    {
        List<ScheduledItem>? due;
        lock (_lock)
        {
            due = PopDue();
        }

        lock (_timerLock)
        {
            _timerDue = long.MaxValue;
        }

        Run(due);
        ArmTimer();
    }

    /// <summary>Points the provider's timer at the earliest item. Called outside the heap lock.</summary>
    private void ArmTimer()
    {
        lock (_timerLock)
        {
            long first;
            lock (_lock)
            {
                if (_disposed)
                {
                    return;
                }

                first = _count > 0 ? _heap[0].Due : long.MaxValue;
            }

            if (first >= _timerDue)
            {
                return;
            }

            _timerDue = first;
            var wait = Math.Max(0, first - Now);
            _timer!.Change(TimeSpanOf(wait), Timeout.InfiniteTimeSpan);
        }
    }

    private List<ScheduledItem>? PopDue()
    {
        List<ScheduledItem>? due = null;
        var now = Now;
        while (_count > 0 && _heap[0].Due <= now)
        {
            var item = _heap[0];
            RemoveAt(0);
            (due ??= []).Add(item);
        }

        return due;
    }

    private void Run(List<ScheduledItem>? due)
    {
        if (due is null)
        {
            return;
        }

        foreach (var item in due)
        {
            if (item.IsDead)
            {
                continue;
            }

            try
            {
                item.OnDue();
            }
            catch (Exception error)
            {
                Log.SchedulerCallbackFailed(_logger, error);
            }
        }
    }

    private int ToMilliseconds(long ticks)
    {
        var ms = Math.Ceiling(ticks * 1000.0 / _time.TimestampFrequency);
        return ms >= int.MaxValue ? int.MaxValue - 1 : Math.Max(1, (int)ms);
    }

    private TimeSpan TimeSpanOf(long ticks)
    {
        var spanTicks = (long)Math.Ceiling(ticks * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency);
        return TimeSpan.FromTicks(Math.Min(spanTicks, TimeSpan.FromDays(3650).Ticks));
    }

    // ------------------------------------------------------------ indexed binary min-heap on Due

    private void Push(ScheduledItem item)
    {
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _heap.Length * 2);
        }

        _heap[_count] = item;
        item.HeapIndex = _count;
        _count++;
        if (item.IsHousekeeping)
        {
            _housekeeping++;
        }

        Up(item.HeapIndex);
    }

    private void RemoveAt(int index)
    {
        Debug.Assert(index < _count);
        var removed = _heap[index];
        _count--;
        if (index != _count)
        {
            var last = _heap[_count];
            _heap[index] = last;
            last.HeapIndex = index;
            _heap[_count] = null!;
            Fix(index);
        }
        else
        {
            _heap[_count] = null!;
        }

        removed.HeapIndex = -1;
        if (removed.IsHousekeeping)
        {
            _housekeeping--;
        }

        if (_heap.Length > 64 && _count < _heap.Length / 4)
        {
            Array.Resize(ref _heap, _heap.Length / 2);
        }
    }

    private void Fix(int index)
    {
        if (index > 0 && _heap[index].Due < _heap[(index - 1) / 2].Due)
        {
            Up(index);
        }
        else
        {
            Down(index);
        }
    }

    private void Up(int index)
    {
        var item = _heap[index];
        while (index > 0)
        {
            var parent = (index - 1) / 2;
            if (_heap[parent].Due <= item.Due)
            {
                break;
            }

            _heap[index] = _heap[parent];
            _heap[index].HeapIndex = index;
            index = parent;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }

    private void Down(int index)
    {
        var item = _heap[index];
        while (true)
        {
            var child = (2 * index) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].Due < _heap[child].Due)
            {
                child++;
            }

            if (item.Due <= _heap[child].Due)
            {
                break;
            }

            _heap[index] = _heap[child];
            _heap[index].HeapIndex = index;
            index = child;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }
}
