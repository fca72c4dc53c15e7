using System.Globalization;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// A redis-server that can be killed and started again while its clients keep one endpoint: a TCP forwarder on a
/// loopback port held from construction to disposal. Starting redis-server again on the port it had would need that
/// port to be free still, and between the kill and the restart anything may take it (another test's server picking
/// a free port, a client's ephemeral port). Here each start is a new server on a new free port (another one if that
/// port is taken before the server binds it), and the forwarder sends new connections there. A kill also closes
/// every forwarded connection, so clients see the connection drop as they would on a direct one; while the server is
/// down, a connection is reset as soon as it is accepted. The forwarder runs on threads of its own, so a busy thread
/// pool cannot delay the traffic.
/// </summary>
internal sealed class RestartableRedis : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly object _gate = new();
    private readonly HashSet<Socket> _open = [];
    private RedisServer? _server;
    private int _generation;
    private bool _disposed;

    /// <summary>Starts the forwarder and a server (see <see cref="Start"/>).</summary>
    public RestartableRedis()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Start();
        new Thread(Accept) { IsBackground = true, Name = "redis forwarder" }.Start();
    }

    /// <summary>The forwarder's port: the one clients use, whichever server runs behind it.</summary>
    public int Port { get; }

    public string EndPoint => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Starts a new, empty server on a free port (up to three ports tried) and forwards new connections to it.</summary>
    public void Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var server = new RedisServer("cachify-redis-restart-");
                lock (_gate)
                {
                    _server = server;
                    _generation++;
                }

                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // The free port was taken before redis-server bound it: try another.
            }
        }
    }

    /// <summary>Kills the server (SIGKILL) and closes every forwarded connection.</summary>
    public void Kill()
    {
        RedisServer? server;
        Socket[] open;
        lock (_gate)
        {
            server = _server;
            _server = null;
            _generation++;
            open = [.. _open];
            _open.Clear();
        }

        server?.Dispose();
        foreach (var socket in open)
        {
            socket.Dispose();
        }
    }

    /// <summary>A multiplexer to the forwarder, with the options of <see cref="RedisServer.Connect()"/>.</summary>
    public ConnectionMultiplexer Connect() => RedisServer.Connect(EndPoint);

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _listener.Stop();
        Kill();
    }

    private void Accept()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = _listener.AcceptSocket();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }

            Forward(client);
        }
    }

    private void Forward(Socket client)
    {
        int port;
        int generation;
        lock (_gate)
        {
            if (_server is null || _disposed)
            {
                Refuse(client);
                return;
            }

            port = _server.Port;
            generation = _generation;
        }

        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            upstream.Connect(IPAddress.Loopback, port);
        }
        catch (SocketException)
        {
            upstream.Dispose();
            Refuse(client);
            return;
        }

        lock (_gate)
        {
            if (generation != _generation || _disposed)
            {
                // Killed (or restarted) while connecting: this connection belongs to a server that is gone.
                upstream.Dispose();
                client.Dispose();
                return;
            }

            _open.Add(client);
            _open.Add(upstream);
        }

        client.NoDelay = true;
        upstream.NoDelay = true;
        new Thread(() => Pump(client, upstream)) { IsBackground = true, Name = "redis forwarder in" }.Start();
        new Thread(() => Pump(upstream, client)) { IsBackground = true, Name = "redis forwarder out" }.Start();
    }

    /// <summary>Resets the connection (RST), as a refused connection would end: clients retry at once.</summary>
    private static void Refuse(Socket client)
    {
        client.LingerState = new LingerOption(true, 0);
        client.Dispose();
    }

    /// <summary>Copies until either side closes, then closes both (so the other direction ends too).</summary>
    private void Pump(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = from.Receive(buffer)) > 0)
            {
                to.Send(buffer, 0, read, SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed by the other direction or by a kill.
        }

        lock (_gate)
        {
            _open.Remove(from);
            _open.Remove(to);
        }

        from.Dispose();
        to.Dispose();
    }
}
