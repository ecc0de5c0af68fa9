# What `cmake --install` puts on an operator's host, and what the Debian
# package ships (debian/rules installs through this file): the two programs,
# the configuration, the systemd unit, the manuals and the operator docs.
# Tests, benchmarks and the tools under tools/ are never installed.
include(GNUInstallDirs)

# Debian 12 keeps units in /lib/systemd/system (dh_installsystemd looks there);
# any other prefix gets them under its own lib/.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(voxfork_default_unit_dir /lib/systemd/system)
else()
  set(voxfork_default_unit_dir lib/systemd/system)
endif()
set(VOXFORK_SYSTEMD_UNIT_DIR ${voxfork_default_unit_dir} CACHE PATH "where the systemd unit is installed")
cmake_path(ABSOLUTE_PATH VOXFORK_SYSTEMD_UNIT_DIR BASE_DIRECTORY ${CMAKE_INSTALL_PREFIX}
           OUTPUT_VARIABLE VOXFORK_SYSTEMD_UNIT_FULL_DIR)

install(TARGETS voxforkd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS voxfork RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the installed paths, so it is made from a template.
set(VOXFORK_INSTALLED_DAEMON ${CMAKE_INSTALL_FULL_SBINDIR}/voxforkd)
set(VOXFORK_INSTALLED_CONFIG ${CMAKE_INSTALL_FULL_SYSCONFDIR}/voxfork/voxforkd.conf)
set(VOXFORK_INSTALLED_DOCS ${CMAKE_INSTALL_FULL_DOCDIR})
configure_file(${PROJECT_SOURCE_DIR}/config/voxforkd.service.in ${PROJECT_BINARY_DIR}/voxforkd.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/voxforkd.service DESTINATION ${VOXFORK_SYSTEMD_UNIT_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/config/host/voxforkd.conf
        DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/voxfork)

install(FILES ${PROJECT_SOURCE_DIR}/man/voxfork.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/man/voxforkd.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/man/voxforkd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The README links into docs/; the pages keep that layout so its links work.
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md")
