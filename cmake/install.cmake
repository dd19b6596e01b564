# Installing refahd as a service, and the .deb (docs/OPERATIONS.md, "As a service").
#   cmake --install build                the executables in <prefix>/bin, the census in <prefix>/share/refah,
#                                        /etc/refah/refahd.toml, the systemd unit, sysusers and tmpfiles
#   cpack --config build/CPackConfig.cmake   the Debian 12 package (tests/package/check_package.sh)
# The prefix is /usr unless given at configure time (-DCMAKE_INSTALL_PREFIX=...): the unit's
# ExecStart names <prefix>/bin/refahd, so the prefix is fixed when CMake configures.
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX /usr CACHE PATH "Install prefix" FORCE)
endif()
include(GNUInstallDirs)

set(REFAH_BIN_DIR "${CMAKE_INSTALL_FULL_BINDIR}")
set(REFAH_DOC_DIR "${CMAKE_INSTALL_FULL_DATADIR}/doc/refah")
set(REFAH_PACKAGING_DIR "${CMAKE_BINARY_DIR}/packaging")
configure_file(${PROJECT_SOURCE_DIR}/packaging/refahd.service.in ${REFAH_PACKAGING_DIR}/refahd.service @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/packaging/postinst.in ${REFAH_PACKAGING_DIR}/postinst @ONLY)  # runs refahd tls-cert

install(TARGETS refahd refahctl refah-audit refah-load RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/share/khuzestan-counties-2016.csv DESTINATION ${CMAKE_INSTALL_DATADIR}/refah)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/share/console DESTINATION ${CMAKE_INSTALL_DATADIR}/refah)  # the console's dashboard
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/OPERATIONS.md ${PROJECT_SOURCE_DIR}/docs/PROTOCOL.md
              ${PROJECT_SOURCE_DIR}/docs/AUDIT.md ${PROJECT_SOURCE_DIR}/docs/HTTP.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/refah)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/refahd.toml DESTINATION /etc/refah)
install(FILES ${REFAH_PACKAGING_DIR}/refahd.service DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/refah.sysusers DESTINATION lib/sysusers.d RENAME refah.conf)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/refah.tmpfiles DESTINATION lib/tmpfiles.d RENAME refah.conf)

# The .deb: Debian 12's runtime packages of the libraries refahd and the tools link
# (tests/package/check_package.sh checks that every library they link comes from one of them).
# RocksDB is linked statically (Debian's CMake config names librocksdb.a), so its compression
# libraries are named instead of librocksdb7.8; adduser for postinst where systemd-sysusers is missing.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME refah)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Refah ledger maintainers <refah@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Refah welfare-card ledger: refahd server, refahctl, refah-audit, refah-load")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_SET_DESTDIR ON)  # /etc/refah is an absolute destination
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, libssl3, libspdlog1.10, libfmt9, libtomlplusplus3, libsystemd0, libsodium23, libnats3.4, libpq5, libsnappy1v5, liblz4-1, libzstd1, zlib1g, libbz2-1.0, adduser")
# The console's charts (Chart.js, served by refahd) and refah-audit report --plots (gnuplot).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libjs-chart.js, gnuplot-nox")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/conffiles ${REFAH_PACKAGING_DIR}/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
