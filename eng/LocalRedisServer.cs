using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace CachifyNet.Testing;

/// <summary>
/// A private redis-server (the Debian package's binary) on a free loopback port, with a temporary directory and no
/// persistence; it may be killed (SIGKILL) and started again on the same port. Shared, as a linked source file, by
/// the Redis tests, the benchmarks and the soak tool.
/// </summary>
public sealed class LocalRedisServer : IDisposable
{
    private static readonly Lazy<string?> Binary = new(Find);
    private readonly string _directory;
    private readonly string[] _extraArguments;
    private Process? _process;

    /// <summary>Starts a server and waits (at most 15 s) until it answers PING.</summary>
    /// <param name="directoryPrefix">The name prefix of the server's temporary directory (its working directory).</param>
    /// <param name="extraArguments">More redis-server arguments (e.g. <c>--cluster-enabled yes</c>), after the defaults.</param>
    /// <exception cref="InvalidOperationException">redis-server is not installed, or did not start.</exception>
    public LocalRedisServer(string directoryPrefix = "cachify-redis-", IEnumerable<string>? extraArguments = null)
    {
        _extraArguments = extraArguments?.ToArray() ?? [];
        BinaryPath = Binary.Value ?? throw new InvalidOperationException(
            "redis-server was not found (PATH, /usr/bin, /usr/sbin, /usr/local/bin or $REDIS_SERVER). Install it with 'apt-get install -y redis-server'.");
        _directory = Directory.CreateTempSubdirectory(directoryPrefix).FullName;
        Port = FreePort();
        Start();
    }

    /// <summary>Whether redis-server can be found on this machine.</summary>
    public static bool Available => Binary.Value is not null;

    public string BinaryPath { get; }

    /// <summary>redis-cli, next to redis-server (null if it is not there).</summary>
    public static string? CliPath => Binary.Value is { } server && Path.Combine(Path.GetDirectoryName(server)!, "redis-cli") is var cli && File.Exists(cli) ? cli : null;

    public int Port { get; }

    public string EndPoint => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts redis-server (again, after <see cref="Kill"/>) and waits (at most 15 s) until it answers PING.</summary>
    public void Start()
    {
        var info = new ProcessStartInfo(BinaryPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no",
            "--dir", _directory, "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning",
        }.Concat(_extraArguments))
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        if (!SpinWait.SpinUntil(() => process.HasExited || Ping(), TimeSpan.FromSeconds(15)) || process.HasExited)
        {
            Kill();
            throw new InvalidOperationException($"redis-server ({BinaryPath}) did not answer PING on {EndPoint}.");
        }
    }

    /// <summary>Kills the server at once (SIGKILL): clients see the connection drop, nothing is saved.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                process.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
            _process = null;
        }
    }

    /// <summary>A multiplexer with short timeouts and fast reconnects, that does not give up when the server is down.</summary>
    public ConnectionMultiplexer Connect() => Connect(EndPoint);

    /// <summary>A multiplexer to <paramref name="endPoints"/> (comma-separated) with the options of <see cref="Connect()"/>.</summary>
    public static ConnectionMultiplexer Connect(string endPoints)
    {
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = 2000,
            AsyncTimeout = 2000,
            ReconnectRetryPolicy = new LinearRetry(100),
        };
        foreach (var endPoint in endPoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            options.EndPoints.Add(endPoint);
        }

        return ConnectionMultiplexer.Connect(options);
    }

    public void Dispose()
    {
        Kill();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless.
        }
    }

    private bool Ping()
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, Port);
            using var stream = client.GetStream();
            stream.Write("PING\r\n"u8);
            var buffer = new byte[16];
            var read = stream.Read(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("REDIS_SERVER") is { Length: > 0 } configured && File.Exists(configured))
        {
            return configured;
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        var candidates = path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        return candidates.Select(dir => Path.Combine(dir, "redis-server")).FirstOrDefault(File.Exists);
    }
}
