package streamtune.jobs;

/**
 * One flight as the job sees it: the JSON value that `streamtune produce-flights` writes
 * ({date, delay, distance, origin, destination}), the Kafka record timestamp (event time, ms since
 * the epoch, the flight's scheduled departure) and the origin airport's city and state added by
 * {@code enrich}. A Flink POJO (public fields, no-argument constructor), so Flink serialises it
 * without Kryo.
 */
public class Flight {
    /** the flight's date as the producer wrote it (ISO-8601) */
    public String date;
    /** departure delay, minutes (negative: early); null when unknown */
    public Long delay;
    /** miles */
    public Long distance;
    /** IATA code of the origin airport */
    public String origin;
    /** IATA code of the destination airport */
    public String destination;
    /** event time, ms since the epoch (the Kafka record timestamp) */
    public long ts;
    /** from airports.csv, set by enrich; null when the airport is not in the table */
    public String originCity;
    public String originState;

    public Flight() {}
}
