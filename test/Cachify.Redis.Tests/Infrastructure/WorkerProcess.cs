using System.Diagnostics;

namespace CachifyNet.Redis.Tests;

/// <summary>A Cachify.Redis.Worker OS process, driven through its standard input and output.</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _answers = [];

    public WorkerProcess(params string[] args)
    {
        var info = new ProcessStartInfo(DotNet())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Cachify.Redis.Worker.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("The worker did not start.");
        _process.OutputDataReceived += (_, e) => Add(e.Data);
        _process.ErrorDataReceived += (_, e) => Add(e.Data is null ? null : "stderr: " + e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    /// <summary>Waits (woken by each new line, with a deadline) until the worker printed <paramref name="line"/>.</summary>
    public void WaitForLine(string line)
    {
        var watch = Stopwatch.StartNew();
        lock (_lines)
        {
            while (!_lines.Contains(line))
            {
                var left = Bounded.Deadline - watch.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"Worker {_process.Id} did not print '{line}'. Output:\n" + string.Join('\n', _lines));
                }

                Monitor.Wait(_lines, left);
            }
        }
    }

    /// <summary>
    /// Sends a command of the "node" mode and returns its answer: the first line starting with "ok " or "error " after
    /// those already printed (the worker answers its commands one at a time, in order); fails after the deadline.
    /// </summary>
    public string Ask(string command)
    {
        int answered;
        lock (_lines)
        {
            answered = _answers.Count;
        }

        Send(command);
        var watch = Stopwatch.StartNew();
        lock (_lines)
        {
            while (true)
            {
                if (_answers.Count > answered)
                {
                    return _answers[answered];
                }

                var left = Bounded.Deadline - watch.Elapsed;
                if (left <= TimeSpan.Zero || _process.HasExited)
                {
                    throw new TimeoutException($"Worker {_process.Id} did not answer '{command}'. Output:\n" + string.Join('\n', _lines));
                }

                Monitor.Wait(_lines, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
            }
        }
    }

    /// <summary>Waits for the worker to exit and returns its exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Bounded.Deadline))
        {
            throw new TimeoutException($"Worker {_process.Id} did not exit. Output:\n" + string.Join('\n', Lines));
        }

        _process.WaitForExit(); // drains the output
        return _process.ExitCode;
    }

    /// <summary>Kills the worker at once (SIGKILL): no finally block, no lock release.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    private void Add(string? line)
    {
        lock (_lines)
        {
            if (line is not null)
            {
                _lines.Add(line);
                if (line.StartsWith("ok ", StringComparison.Ordinal) || line.StartsWith("error ", StringComparison.Ordinal))
                {
                    _answers.Add(line);
                }
            }

            Monitor.PulseAll(_lines);
        }
    }

    private static string DotNet()
        => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
