using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Broker.Workers.Providers.Bedrock;

/// <summary>
/// Reads AWS event-stream framing: a prelude (total length, headers length, both big-endian, and their CRC32),
/// the headers (name length, name, value type, value), the payload, and the CRC32 of the whole message.
/// </summary>
public static class AwsEventStream
{
    private const int PreludeLength = 12;
    private const int MaxMessageLength = 16 * 1024 * 1024;

    public static async IAsyncEnumerable<AwsEventStreamMessage> ReadAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var prelude = new byte[PreludeLength];
        while (true)
        {
            var first = await stream.ReadAtLeastAsync(prelude, PreludeLength, throwOnEndOfStream: false, cancellationToken);
            if (first == 0)
            {
                yield break;
            }

            if (first < PreludeLength)
            {
                throw new InvalidDataException("event stream ended inside a message prelude");
            }

            var totalLength = BinaryPrimitives.ReadInt32BigEndian(prelude);
            var headersLength = BinaryPrimitives.ReadInt32BigEndian(prelude.AsSpan(4));
            if (Crc32.Compute(prelude.AsSpan(0, 8)) != BinaryPrimitives.ReadUInt32BigEndian(prelude.AsSpan(8)))
            {
                throw new InvalidDataException("event stream prelude checksum mismatch");
            }

            if (totalLength is < PreludeLength + 4 or > MaxMessageLength || headersLength < 0 || headersLength > totalLength - PreludeLength - 4)
            {
                throw new InvalidDataException($"event stream message of impossible length {totalLength}");
            }

            var message = new byte[totalLength];
            prelude.CopyTo(message, 0);
            await stream.ReadExactlyAsync(message.AsMemory(PreludeLength), cancellationToken);
            if (Crc32.Compute(message.AsSpan(0, totalLength - 4)) != BinaryPrimitives.ReadUInt32BigEndian(message.AsSpan(totalLength - 4)))
            {
                throw new InvalidDataException("event stream message checksum mismatch");
            }

            var headers = ReadHeaders(message.AsSpan(PreludeLength, headersLength));
            var payload = message.AsSpan(PreludeLength + headersLength, totalLength - PreludeLength - headersLength - 4).ToArray();
            yield return new AwsEventStreamMessage(headers, payload);
        }
    }

    private static Dictionary<string, string> ReadHeaders(ReadOnlySpan<byte> span)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        var at = 0;
        while (at < span.Length)
        {
            var nameLength = span[at++];
            var name = Encoding.UTF8.GetString(span.Slice(at, nameLength));
            at += nameLength;
            var type = span[at++];
            string value;
            switch (type)
            {
                case 0:
                    value = "true";
                    break;
                case 1:
                    value = "false";
                    break;
                case 2:
                    value = ((sbyte)span[at]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    at += 1;
                    break;
                case 3:
                    value = BinaryPrimitives.ReadInt16BigEndian(span[at..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    at += 2;
                    break;
                case 4:
                    value = BinaryPrimitives.ReadInt32BigEndian(span[at..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    at += 4;
                    break;
                case 5 or 8:
                    value = BinaryPrimitives.ReadInt64BigEndian(span[at..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    at += 8;
                    break;
                case 6 or 7:
                    var length = BinaryPrimitives.ReadUInt16BigEndian(span[at..]);
                    at += 2;
                    value = type == 7 ? Encoding.UTF8.GetString(span.Slice(at, length)) : Convert.ToBase64String(span.Slice(at, length));
                    at += length;
                    break;
                case 9:
                    value = Convert.ToHexStringLower(span.Slice(at, 16));
                    at += 16;
                    break;
                default:
                    throw new InvalidDataException($"event stream header '{name}' has unknown value type {type}");
            }

            headers[name] = value;
        }

        return headers;
    }

    /// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as the framing uses.</summary>
    public static class Crc32
    {
        private static readonly uint[] Table = BuildTable();

        public static uint Compute(ReadOnlySpan<byte> data)
        {
            var crc = 0xFFFFFFFFu;
            foreach (var b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }

            return ~crc;
        }

        private static uint[] BuildTable()
        {
            var table = new uint[256];
            for (var n = 0u; n < 256; n++)
            {
                var c = n;
                for (var k = 0; k < 8; k++)
                {
                    c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                }

                table[n] = c;
            }

            return table;
        }
    }
}
